//! Opening the layers and the target on the mount thread, and the checks that need them open.

use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::stat::{fstat, Mode};

use crate::error::{Error, ErrorCode};
use crate::in_use;
use crate::request::{MountRequest, Role};

/// One opened directory with the identity the checks compare.
pub struct Opened {
  pub role: Role,
  pub fd: OwnedFd,
  pub dev: u64,
  pub ino: u64,
}

/// How a layer is opened: `O_PATH` where the kernel takes such descriptors as layers,
/// `O_RDONLY` otherwise. Both refuse a symlink as the last component and a non-directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
  Path,
  ReadOnly,
}

/// Opens `path` as a directory for `role`, not following a final symlink.
pub fn open_dir(path: &Path, role: Role, mode: OpenMode) -> Result<Opened, Error> {
  let access = match mode {
    OpenMode::Path => OFlag::O_PATH,
    OpenMode::ReadOnly => OFlag::O_RDONLY,
  };
  let flags = access | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
  let fd = open(path, flags, Mode::empty()).map_err(|e| open_error(e, path, role))?;
  let st = fstat(&fd).map_err(|e| Error::sys(e, "fstat", Some(path), &role.to_string()))?;
  Ok(Opened {
    role,
    fd,
    dev: st.st_dev,
    ino: st.st_ino,
  })
}

fn open_error(errno: Errno, path: &Path, role: Role) -> Error {
  // O_NOFOLLOW | O_DIRECTORY on a symlink fails with ENOTDIR or ELOOP: one code for both,
  // so that the refusal reads the same whatever the strategy and the errno.
  if matches!(errno, Errno::ENOTDIR | Errno::ELOOP) && is_symlink(path) {
    let msg = format!(
      "{role} '{}' is a symlink, which is never followed: name the directory itself",
      path.display()
    );
    let mut err = Error::refused(ErrorCode::Symlink, Some(path), msg);
    (err.errno, err.syscall) = (Some(errno), Some("open"));
    return err;
  }
  let what = match errno {
    Errno::ENOTDIR => format!("{role} is not a directory"),
    Errno::ENOENT => format!("{role} does not exist"),
    _ => format!("opening {role}"),
  };
  Error::sys(errno, "open", Some(path), &what)
}

fn is_symlink(path: &Path) -> bool {
  std::fs::symlink_metadata(path)
    .map(|m| m.file_type().is_symlink())
    .unwrap_or(false)
}

/// Whether the directory open at `fd` is the root of a mount.
pub fn is_mount_root<Fd: AsFd>(fd: Fd) -> Result<bool, Error> {
  // SAFETY: statx writes into the zeroed buffer we own; an empty path with
  // AT_EMPTY_PATH stats the descriptor itself.
  let mut stx: libc::statx = unsafe { std::mem::zeroed() };
  let rc = unsafe {
    libc::statx(
      fd.as_fd().as_raw_fd(),
      c"".as_ptr(),
      libc::AT_EMPTY_PATH,
      libc::STATX_BASIC_STATS,
      &mut stx,
    )
  };
  if rc != 0 {
    return Err(Error::sys(
      Errno::last(),
      "statx",
      None,
      "is the target a mount point",
    ));
  }
  let mask = libc::STATX_ATTR_MOUNT_ROOT as u64;
  Ok(stx.stx_attributes_mask & mask != 0 && stx.stx_attributes & mask != 0)
}

/// Every directory of a request, opened, with the target last.
pub struct OpenedRequest {
  pub layers: Vec<Opened>,
  pub target: Opened,
}

/// Opens every layer and the target of `req` (relative paths against the thread's
/// working directory) and runs the checks that need them open.
pub fn open_request(req: &MountRequest, mode: OpenMode) -> Result<OpenedRequest, Error> {
  let mut layers = Vec::with_capacity(req.lower.len() + req.data_layers.len() + 2);
  for (role, path) in req.roles() {
    layers.push(open_dir(path, role, mode)?);
  }
  let target = open_dir(&req.target, Role::Target, OpenMode::Path)?;

  if !req.allow_stacking && is_mount_root(&target.fd)? {
    return Err(Error::refused(
      ErrorCode::TargetIsMountPoint,
      Some(&req.target),
      format!(
        "target '{}' is already a mount point; pass allowStacking to mount on top of it",
        req.target.display()
      ),
    ));
  }
  if let Some(layer) = layers
    .iter()
    .find(|l| (l.dev, l.ino) == (target.dev, target.ino))
  {
    return Err(Error::refused(
      ErrorCode::InvalidRequest,
      Some(&req.target),
      format!(
        "{} is the target '{}' itself",
        layer.role,
        req.target.display()
      ),
    ));
  }
  check_upper_and_work(req, &layers)?;
  check_distinct(req, &layers)?;
  check_not_in_use(req, &layers)?;
  Ok(OpenedRequest { layers, target })
}

/// Refuses an upper or work directory that a mounted overlay already uses as its upper or
/// work directory. The kernel only warns of that (unless `index=on`), and two overlays
/// writing one upper layer corrupt each other. How the mounted ones are read and resolved
/// is [`in_use::find`]'s concern.
fn check_not_in_use(req: &MountRequest, layers: &[Opened]) -> Result<(), Error> {
  let ours: Vec<&Opened> = layers
    .iter()
    .filter(|l| matches!(l.role, Role::Upper | Role::Work))
    .collect();
  if ours.is_empty() {
    return Ok(());
  }
  let dirs: Vec<(u64, u64)> = ours.iter().map(|l| (l.dev, l.ino)).collect();
  let Some(writer) = in_use::find(&dirs)? else {
    return Ok(());
  };
  let Some(mine) = ours
    .iter()
    .find(|l| (l.dev, l.ino) == (writer.dev, writer.ino))
  else {
    return Ok(());
  };
  let asked = if mine.role == Role::Upper {
    &req.upper
  } else {
    &req.work
  };
  let asked = asked.as_deref().unwrap_or(Path::new(""));
  let msg = format!(
    "{} '{}' is already the {} of the overlay mounted on '{}'",
    mine.role,
    asked.display(),
    writer.key,
    writer.mount_point.display()
  );
  Err(Error::refused(ErrorCode::InUse, Some(asked), msg))
}

/// Undoes overlayfs's escaping of an `upperdir` or `workdir` string: `\` keeps the next
/// character as it is.
pub(crate) fn unescape_upper(value: &str) -> String {
  let mut out = String::with_capacity(value.len());
  let mut chars = value.chars();
  while let Some(c) = chars.next() {
    match c {
      '\\' => out.extend(chars.next()),
      _ => out.push(c),
    }
  }
  out
}

/// Refuses one directory given for two roles under two names (through a symlinked parent or
/// a bind mount), which the options check cannot see: overlayfs refuses it with a bare
/// `ELOOP`.
fn check_distinct(req: &MountRequest, layers: &[Opened]) -> Result<(), Error> {
  let roles = req.roles();
  let mut seen: HashMap<(u64, u64), usize> = HashMap::with_capacity(layers.len());
  for (i, layer) in layers.iter().enumerate() {
    if let Some(&first) = seen.get(&(layer.dev, layer.ino)) {
      let ((role, path), (first_role, first_path)) = (roles[i], roles[first]);
      let msg = format!(
        "{role} '{}' is the same directory as {first_role} '{}'",
        path.display(),
        first_path.display()
      );
      return Err(Error::refused(ErrorCode::InvalidRequest, Some(path), msg));
    }
    seen.insert((layer.dev, layer.ino), i);
  }
  Ok(())
}

/// Explains the refusals overlayfs gives with a bare errno and only a kernel log line:
/// `ELOOP` for overlapping layers, `EINVAL` (among much else) for an upper and a work dir
/// inside one another. Names the two layers where their paths show it; the errno and the
/// syscall stay the kernel's.
pub fn explain_refusal(req: &MountRequest, mut err: Error) -> Error {
  let writable = |role: Role| matches!(role, Role::Upper | Role::Work);
  match err.errno {
    Some(Errno::ELOOP) => {
      let why = match nesting(req, |inner, _| !writable(inner)) {
        Some((inner, inner_path, outer, outer_path)) => {
          let why = format!(
            "{inner} '{}' is inside {outer} '{}'",
            inner_path.display(),
            outer_path.display()
          );
          err.path = Some(inner_path);
          why
        }
        None => "one layer is inside another, or one directory is given twice, through a \
                 symlink or a bind mount"
          .to_string(),
      };
      err.message = format!(
        "{}: overlayfs refuses overlapping layers: {why}",
        err.message
      );
    }
    Some(Errno::EINVAL) => {
      let both_writable = |inner: Role, outer: Role| writable(inner) && writable(outer);
      if let Some((inner, inner_path, outer, outer_path)) = nesting(req, both_writable) {
        err.message = format!(
          "{}: {inner} '{}' is inside {outer} '{}'; overlayfs needs them in separate subtrees",
          err.message,
          inner_path.display(),
          outer_path.display()
        );
        err.path = Some(inner_path);
      }
    }
    _ => {}
  }
  err
}

/// The first two roles of `req` whose paths lie strictly one inside the other and for which
/// `refused(inner, outer)` holds. Relative paths are taken against `req.cwd`.
fn nesting(
  req: &MountRequest,
  refused: impl Fn(Role, Role) -> bool,
) -> Option<(Role, PathBuf, Role, PathBuf)> {
  let base = req.cwd.clone().unwrap_or_default();
  let paths: Vec<(Role, PathBuf)> = req
    .roles()
    .into_iter()
    .map(|(role, path)| (role, base.join(path)))
    .collect();
  for (inner, inner_path) in &paths {
    for (outer, outer_path) in &paths {
      let inside = inner_path != outer_path && inner_path.starts_with(outer_path);
      if inside && refused(*inner, *outer) {
        return Some((*inner, inner_path.clone(), *outer, outer_path.clone()));
      }
    }
  }
  None
}

/// Upper and work must be two distinct directories on one filesystem.
fn check_upper_and_work(req: &MountRequest, layers: &[Opened]) -> Result<(), Error> {
  let find = |role: Role| layers.iter().find(|l| l.role == role);
  let (Some(upper), Some(work)) = (find(Role::Upper), find(Role::Work)) else {
    return Ok(());
  };
  let work_path = req.work.as_deref();
  if (upper.dev, upper.ino) == (work.dev, work.ino) {
    let msg = "upperdir and workdir are the same directory".to_string();
    return Err(Error::refused(ErrorCode::InvalidRequest, work_path, msg));
  }
  if upper.dev != work.dev {
    let msg = format!(
      "workdir '{}' is on another filesystem than upperdir '{}' (devices {} and {})",
      work_path.unwrap_or(Path::new("")).display(),
      req.upper.as_deref().unwrap_or(Path::new("")).display(),
      work.dev,
      upper.dev
    );
    return Err(Error::refused(ErrorCode::InvalidRequest, work_path, msg));
  }
  Ok(())
}

#[cfg(test)]
mod tests {
  use super::*;

  fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ovl-layers-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
  }

  #[test]
  fn open_dir_names_what_is_wrong() {
    let dir = scratch("open");
    std::fs::write(dir.join("file"), b"x").unwrap();
    std::os::unix::fs::symlink(&dir, dir.join("link")).unwrap();

    let missing = open_dir(&dir.join("missing"), Role::Lower(0), OpenMode::Path)
      .err()
      .unwrap();
    assert_eq!(missing.errno, Some(Errno::ENOENT));
    assert!(
      missing.message.contains("lowerdir 0 does not exist"),
      "{}",
      missing.message
    );

    let file = open_dir(&dir.join("file"), Role::Upper, OpenMode::Path)
      .err()
      .unwrap();
    assert_eq!(file.errno, Some(Errno::ENOTDIR));
    assert!(
      file.message.contains("upperdir is not a directory"),
      "{}",
      file.message
    );

    let link = open_dir(&dir.join("link"), Role::Lower(2), OpenMode::ReadOnly)
      .err()
      .unwrap();
    assert_eq!(link.code, ErrorCode::Symlink);
    assert!(
      matches!(link.errno, Some(Errno::ENOTDIR | Errno::ELOOP)),
      "{:?}",
      link.errno
    );
    let named = format!("lowerdir 2 '{}' is a symlink", dir.join("link").display());
    assert!(link.message.contains(&named), "{}", link.message);
    let by_path = open_dir(&dir.join("link"), Role::Target, OpenMode::Path)
      .err()
      .unwrap();
    assert_eq!(by_path.code, ErrorCode::Symlink);

    assert!(open_dir(&dir, Role::Work, OpenMode::ReadOnly).is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
  }

  fn request(lower: &[&str], upper: Option<(&str, &str)>, cwd: Option<&str>) -> MountRequest {
    MountRequest {
      strategy: crate::request::Strategy::Relative,
      cwd: cwd.map(PathBuf::from),
      target: "/t".into(),
      lower: lower.iter().map(PathBuf::from).collect(),
      data_layers: vec![],
      upper: upper.map(|(u, _)| u.into()),
      work: upper.map(|(_, w)| w.into()),
      options: vec![],
      data: None,
      allow_stacking: false,
    }
  }

  fn kernel(errno: Errno) -> Error {
    Error::sys(errno, "mount", Some(Path::new("/t")), "overlay")
  }

  #[test]
  fn upper_values_are_unescaped_as_overlayfs_does() {
    assert_eq!(unescape_upper(r"/a\\b\:c,d"), r"/a\b:c,d");
    assert_eq!(unescape_upper(r"/tail\"), "/tail");
  }

  #[test]
  fn eloop_is_explained_by_the_layers_that_overlap() {
    let req = request(&["a", "a/b"], None, Some("/s"));
    let err = explain_refusal(&req, kernel(Errno::ELOOP));
    let expected = "overlapping layers: lowerdir 1 '/s/a/b' is inside lowerdir 0 '/s/a'";
    assert!(err.message.ends_with(expected), "{}", err.message);
    assert_eq!(err.errno, Some(Errno::ELOOP));
    assert_eq!(err.path.as_deref(), Some(Path::new("/s/a/b")));

    let req = request(&["/u/l"], Some(("/u", "/w")), None);
    let err = explain_refusal(&req, kernel(Errno::ELOOP));
    assert!(
      err
        .message
        .ends_with("lowerdir 0 '/u/l' is inside upperdir '/u'"),
      "{}",
      err.message
    );

    // An upper inside a lower is no overlap to the kernel; an alias it cannot see here.
    let req = request(&["/l", "/m"], Some(("/l/u", "/l/w")), None);
    let err = explain_refusal(&req, kernel(Errno::ELOOP));
    assert!(
      err.message.contains("through a symlink or a bind mount"),
      "{}",
      err.message
    );
    // `/ab` is no child of `/a`: paths are compared by component.
    let req = request(&["/a", "/ab"], None, None);
    let err = explain_refusal(&req, kernel(Errno::ELOOP));
    assert!(
      err.message.contains("through a symlink or a bind mount"),
      "{}",
      err.message
    );
  }

  #[test]
  fn einval_is_explained_only_by_nested_upper_and_work() {
    let req = request(&["/l"], Some(("/u", "/u/w")), None);
    let err = explain_refusal(&req, kernel(Errno::EINVAL));
    assert!(
      err
        .message
        .contains("workdir '/u/w' is inside upperdir '/u'"),
      "{}",
      err.message
    );
    let req = request(&["/l"], Some(("/u", "/w")), None);
    assert_eq!(
      explain_refusal(&req, kernel(Errno::EINVAL)).message,
      kernel(Errno::EINVAL).message
    );
    assert_eq!(
      explain_refusal(&req, kernel(Errno::EPERM)).message,
      kernel(Errno::EPERM).message
    );
  }

  #[test]
  fn root_is_a_mount_root_and_a_plain_directory_is_not() {
    let root = open_dir(Path::new("/"), Role::Target, OpenMode::Path).unwrap();
    assert!(is_mount_root(&root.fd).unwrap());
    let dir = scratch("mountroot");
    let plain = open_dir(&dir, Role::Target, OpenMode::Path).unwrap();
    assert!(!is_mount_root(&plain.fd).unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
  }
}
