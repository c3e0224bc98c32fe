//! The new mount API: `fsopen(2)`, `fsconfig(2)`, `fsmount(2)` and `move_mount(2)`.
//!
//! Each layer is one `fsconfig` call, so no option string is ever joined or split, and no
//! page limit applies. String values are capped at [`FSCONFIG_VALUE_MAX`] bytes.

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::errno::Errno;

use crate::error::{Error, ErrorCode};
use crate::layers::OpenedRequest;
use crate::limits::FSCONFIG_VALUE_MAX;
use crate::request::{MountRequest, Role, Strategy};

const FSCONFIG_SET_FLAG: libc::c_uint = 0;
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_SET_FD: libc::c_uint = 5;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;

/// An overlay filesystem context from `fsopen("overlay")`.
pub struct FsContext {
  fd: OwnedFd,
}

impl FsContext {
  /// Opens a new overlay context: `fsopen(2)`.
  pub fn open() -> Result<FsContext, Errno> {
    // SAFETY: fsopen takes a NUL-terminated name and flags; it returns a new descriptor.
    let fd = unsafe { libc::syscall(libc::SYS_fsopen, c"overlay".as_ptr(), libc::FSOPEN_CLOEXEC) };
    if fd < 0 {
      return Err(Errno::last());
    }
    // SAFETY: the kernel just handed us this descriptor and nobody else owns it.
    Ok(FsContext {
      fd: unsafe { OwnedFd::from_raw_fd(fd as RawFd) },
    })
  }

  fn config(
    &self,
    cmd: libc::c_uint,
    key: Option<&CStr>,
    value: *const libc::c_char,
    aux: i32,
  ) -> Result<(), Errno> {
    let key = key.map_or(std::ptr::null(), CStr::as_ptr);
    // SAFETY: key and value are NULL or NUL-terminated strings that outlive the call.
    let rc = unsafe {
      libc::syscall(
        libc::SYS_fsconfig,
        self.fd.as_raw_fd(),
        cmd,
        key,
        value,
        aux,
      )
    };
    if rc < 0 {
      Err(Errno::last())
    } else {
      Ok(())
    }
  }

  /// `fsconfig(FSCONFIG_SET_STRING, key, value)`.
  pub fn set_string(&self, key: &CStr, value: &CStr) -> Result<(), Errno> {
    self.config(FSCONFIG_SET_STRING, Some(key), value.as_ptr(), 0)
  }

  /// `fsconfig(FSCONFIG_SET_FLAG, key)`.
  pub fn set_flag(&self, key: &CStr) -> Result<(), Errno> {
    self.config(FSCONFIG_SET_FLAG, Some(key), std::ptr::null(), 0)
  }

  /// `fsconfig(FSCONFIG_SET_FD, key, fd)`.
  pub fn set_fd(&self, key: &CStr, fd: RawFd) -> Result<(), Errno> {
    self.config(FSCONFIG_SET_FD, Some(key), std::ptr::null(), fd)
  }

  /// `fsconfig(FSCONFIG_CMD_CREATE)`: builds the superblock from what was configured.
  pub fn create(&self) -> Result<(), Errno> {
    self.config(FSCONFIG_CMD_CREATE, None, std::ptr::null(), 0)
  }

  /// `fsmount(2)`: a detached mount of the created superblock.
  pub fn mount(&self) -> Result<OwnedFd, Errno> {
    // SAFETY: plain integer arguments; returns a new descriptor.
    let fd = unsafe {
      libc::syscall(
        libc::SYS_fsmount,
        self.fd.as_raw_fd(),
        libc::FSMOUNT_CLOEXEC,
        0,
      )
    };
    if fd < 0 {
      return Err(Errno::last());
    }
    // SAFETY: the kernel just handed us this descriptor and nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
  }

  /// The kernel's messages queued on this context, one per line, without their prefixes.
  pub fn messages(&self) -> String {
    let mut lines = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
      // SAFETY: reads at most buf.len() bytes into our buffer.
      let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
      if n <= 0 {
        break;
      }
      let line = String::from_utf8_lossy(&buf[..n as usize]);
      let line = line.trim_end();
      lines.push(
        line
          .split_once(' ')
          .map_or(line, |(_, msg)| msg)
          .to_string(),
      );
    }
    lines.join("; ")
  }
}

/// Attaches the detached mount `mount_fd` onto the directory open at `target_fd`.
fn move_onto(mount_fd: &OwnedFd, target_fd: RawFd) -> Result<(), Errno> {
  let flags = libc::MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH;
  // SAFETY: both paths are empty NUL-terminated strings; the descriptors are open.
  let rc = unsafe {
    libc::syscall(
      libc::SYS_move_mount,
      mount_fd.as_raw_fd(),
      c"".as_ptr(),
      target_fd,
      c"".as_ptr(),
      flags,
    )
  };
  if rc < 0 {
    Err(Errno::last())
  } else {
    Ok(())
  }
}

/// Escapes a backslash for `upperdir`/`workdir` strings, which the kernel unescapes.
pub fn escape_upper(path: &[u8]) -> Vec<u8> {
  let mut out = Vec::with_capacity(path.len());
  for &b in path {
    if b == b'\\' {
      out.push(b'\\');
    }
    out.push(b);
  }
  out
}

/// Mounts `req` through the new mount API, by path strings (`lowerdir+`) or by descriptors.
pub fn mount_new_api(req: &MountRequest, opened: &OpenedRequest) -> Result<(), Error> {
  let ctx = FsContext::open().map_err(|e| Error::sys(e, "fsopen", None, "overlay"))?;
  let by_fd = req.strategy == Strategy::Fd;
  // Listed as the source in mountinfo, as legacy mount(2) lists it.
  ctx
    .set_string(c"source", c"overlay")
    .map_err(|e| fsconfig_error(&ctx, e, None, "source"))?;

  for (i, (role, path)) in req.roles().into_iter().enumerate() {
    let key = role.fsconfig_key();
    let result = if by_fd {
      ctx.set_fd(key, opened.layers[i].fd.as_raw_fd())
    } else {
      let value = string_value(role, path)?;
      ctx.set_string(key, &value)
    };
    let what = format!("{} for {role}", key.to_string_lossy());
    result.map_err(|e| fsconfig_error(&ctx, e, Some(path), &what))?;
  }

  for option in &req.options {
    let c_key = CString::new(option.key.as_str()).map_err(|_| Error::nul(None))?;
    let result = match &option.value {
      Some(value) => ctx.set_string(
        &c_key,
        &CString::new(value.as_str()).map_err(|_| Error::nul(None))?,
      ),
      None => ctx.set_flag(&c_key),
    };
    result.map_err(|e| fsconfig_error(&ctx, e, None, &format!("option {}", option.to_data())))?;
  }

  ctx
    .create()
    .map_err(|e| fsconfig_error(&ctx, e, Some(&req.target), "FSCONFIG_CMD_CREATE"))?;
  let mount = ctx.mount().map_err(|e| {
    Error::sys(e, "fsmount", Some(&req.target), "overlay").with_kernel_message(&ctx.messages())
  })?;
  move_onto(&mount, opened.target.fd.as_raw_fd())
    .map_err(|e| Error::sys(e, "move_mount", Some(&req.target), "attaching the overlay"))
  // `mount` is closed here: an open mount descriptor would make a later unmount fail with EBUSY.
}

/// The string the kernel is given for `role`: `lowerdir+` and `datadir+` take the path
/// literally, `upperdir` and `workdir` unescape it. Refuses a value the kernel cannot take.
fn string_value(role: Role, path: &Path) -> Result<CString, Error> {
  let bytes = path.as_os_str().as_bytes();
  let value = match role {
    Role::Upper | Role::Work => escape_upper(bytes),
    _ => bytes.to_vec(),
  };
  check_value(role, path, value.len())?;
  CString::new(value).map_err(|_| Error::nul(Some(path)))
}

fn check_value(role: Role, path: &Path, bytes: usize) -> Result<(), Error> {
  if bytes <= FSCONFIG_VALUE_MAX {
    return Ok(());
  }
  let msg = format!(
    "{role} '{}' is {bytes} bytes, over the {FSCONFIG_VALUE_MAX}-byte limit of one fsconfig value",
    path.display()
  );
  Err(Error::refused(ErrorCode::ValueTooLong, Some(path), msg))
}

fn fsconfig_error(ctx: &FsContext, errno: Errno, path: Option<&Path>, what: &str) -> Error {
  Error::sys(errno, "fsconfig", path, what).with_kernel_message(&ctx.messages())
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn only_backslashes_are_escaped_for_upper() {
    assert_eq!(escape_upper(br"/a\b:c,d"), br"/a\\b:c,d".to_vec());
  }

  #[test]
  fn values_over_the_limit_are_refused_before_fsconfig() {
    let long = "x".repeat(FSCONFIG_VALUE_MAX + 1);
    let err = check_value(Role::Lower(4), Path::new(&long), long.len())
      .err()
      .unwrap();
    assert_eq!(err.code, ErrorCode::ValueTooLong);
    assert!(
      err.message.contains("256 bytes, over the 255-byte limit"),
      "{}",
      err.message
    );
    assert!(check_value(Role::Lower(4), Path::new("x"), FSCONFIG_VALUE_MAX).is_ok());
  }

  #[test]
  fn upper_values_are_escaped_and_lower_values_are_literal() {
    let path = Path::new(r"/a\b");
    assert_eq!(
      string_value(Role::Lower(0), path).unwrap().as_bytes(),
      br"/a\b"
    );
    assert_eq!(
      string_value(Role::Work, path).unwrap().as_bytes(),
      br"/a\\b"
    );
  }
}
