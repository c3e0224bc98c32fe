//! Mounting one planned request on the calling mount thread.

use crate::error::{Error, ErrorCode};
use crate::fs_state;
use crate::layers::{explain_refusal, open_dir, open_request, OpenMode};
use crate::legacy::{mount_procfd, mount_with_data};
use crate::limits::{MAX_LOWER_LAYERS, MIN_READ_ONLY_LAYERS};
use crate::new_api::mount_new_api;
use crate::probe::{features, Features};
use crate::request::{MountOption, MountRequest, Role, Strategy};
use crate::workdir;

/// Mounts `req` from the calling thread, which must be free to take a private fs state
/// (a mount thread of the [`crate::pool::Pool`], or one made for the purpose).
///
/// On any failure nothing is mounted and every descriptor taken is closed. The thread's
/// working directory is left at `/` afterwards, so that it pins no filesystem.
pub fn mount(req: &MountRequest) -> Result<(), Error> {
  fs_state::make_private()?;
  let result = mount_here(req, features());
  fs_state::leave();
  result
}

fn mount_here(req: &MountRequest, features: &Features) -> Result<(), Error> {
  check_request(req)?;
  check_supported(req.strategy, features)?;

  if let Some(cwd) = &req.cwd {
    let dir = open_dir(cwd, Role::CommonDir, OpenMode::Path)?;
    fs_state::enter(&dir.fd, "entering the layers' common directory")?;
  }

  let mode = match req.strategy {
    Strategy::Fd if !features.o_path_fds => OpenMode::ReadOnly,
    _ => OpenMode::Path,
  };
  let opened = open_request(req, mode)?;
  let work = opened.layers.iter().find(|l| l.role == Role::Work);
  let missing = work.map(|w| workdir::missing(&w.fd));
  let mounted = match req.strategy {
    Strategy::Absolute | Strategy::Relative => mount_with_data(req, &opened),
    Strategy::ProcFd => mount_procfd(req, &opened),
    Strategy::LowerdirPlus | Strategy::Fd => mount_new_api(req, &opened),
  };
  mounted.map_err(|e| {
    if let (Some(work), Some(missing)) = (work, &missing) {
      missing.remove_new(&work.fd);
    }
    match e.syscall {
      Some("mount" | "fsconfig") => explain_refusal(req, e),
      _ => e,
    }
  })
}

/// The checks that need no syscall. The planner makes them too, except the kernel's floor of
/// layers for a read-only overlay, which only the core knows; they are repeated here so that
/// no caller of the core can get past them.
fn check_request(req: &MountRequest) -> Result<(), Error> {
  let layers = req.lower.len() + req.data_layers.len();
  if layers > MAX_LOWER_LAYERS {
    let msg = format!("{layers} lower layers, more than the kernel's limit of {MAX_LOWER_LAYERS}");
    return Err(Error::refused(ErrorCode::TooManyLayers, None, msg));
  }
  if req.lower.is_empty() {
    let msg = "at least one lower layer is needed".to_string();
    return Err(Error::refused(ErrorCode::InvalidRequest, None, msg));
  }
  if req.upper.is_none() && layers < MIN_READ_ONLY_LAYERS {
    let msg = format!(
      "lowerdir 0 '{}' is the only layer and there is no upperdir: a read-only overlay needs \
       at least {MIN_READ_ONLY_LAYERS} lower layers",
      req.lower[0].display()
    );
    return Err(Error::refused(
      ErrorCode::InvalidRequest,
      Some(&req.lower[0]),
      msg,
    ));
  }
  if req.upper.is_some() != req.work.is_some() {
    let msg = "upperdir and workdir go together: give both or neither".to_string();
    return Err(Error::refused(ErrorCode::InvalidRequest, None, msg));
  }
  if !req.target.is_absolute() {
    let msg = format!("target '{}' is not an absolute path", req.target.display());
    return Err(Error::refused(
      ErrorCode::InvalidRequest,
      Some(&req.target),
      msg,
    ));
  }
  if req.cwd.is_none() && req.roles().iter().any(|(_, p)| !p.is_absolute()) {
    let msg = "relative layer paths need the directory they are relative to".to_string();
    return Err(Error::refused(ErrorCode::InvalidRequest, None, msg));
  }
  req.options.iter().try_for_each(check_option)
}

/// The options that name layers: a request names its layers in its own fields only, where
/// each is opened and checked, never through an extra option.
const LAYER_KEYS: [&str; 5] = ["lowerdir", "lowerdir+", "upperdir", "workdir", "datadir+"];

/// Refuses an extra option that names layers, is empty, or holds a `,`, which would start
/// another option in legacy mount data.
fn check_option(option: &MountOption) -> Result<(), Error> {
  let text = option.to_data();
  let why = if LAYER_KEYS.contains(&option.key.as_str()) {
    "names layers, which go in lower, data, upper and work"
  } else if option.key.is_empty() || text.contains(',') {
    "is empty or holds a ','"
  } else {
    return Ok(());
  };
  let msg = format!("option '{text}' {why}");
  Err(Error::refused(ErrorCode::InvalidRequest, None, msg))
}

/// Refuses a strategy the running kernel lacks: forcing one never falls back silently.
pub fn check_supported(strategy: Strategy, features: &Features) -> Result<(), Error> {
  let missing = match strategy {
    Strategy::Fd if !features.fd_layers => "file-descriptor layers (Linux 6.13+)",
    Strategy::LowerdirPlus if !features.lowerdir_plus => "fsconfig lowerdir+ (Linux 6.8+)",
    _ => return Ok(()),
  };
  let msg = format!(
    "strategy {} needs {missing}, which kernel {} lacks",
    strategy.as_str(),
    features.release
  );
  Err(Error::refused(ErrorCode::Unsupported, None, msg))
}

#[cfg(test)]
mod tests {
  use super::*;

  fn option(text: &str) -> MountOption {
    MountOption::parse(text)
  }

  #[test]
  fn options_that_name_layers_or_hold_a_comma_are_refused() {
    for text in [
      "lowerdir+=/x",
      "lowerdir=/a:/b",
      "upperdir=/u",
      "workdir=/w",
      "datadir+=/d",
    ] {
      let err = check_option(&option(text)).unwrap_err();
      assert_eq!(err.code, ErrorCode::InvalidRequest, "{text}");
      assert!(err.message.contains("names layers"), "{}", err.message);
    }
    for text in ["", "=on", "index=off,lowerdir=/x", "a,b"] {
      let err = check_option(&option(text)).unwrap_err();
      assert!(
        err.message.contains("is empty or holds a ','"),
        "{text}: {}",
        err.message
      );
    }
    for text in [
      "userxattr",
      "index=off",
      "redirect_dir=nofollow",
      "metacopy=on",
    ] {
      assert!(check_option(&option(text)).is_ok(), "{text}");
    }
  }
}
