//! The one error type of the core: a failed syscall with its inputs, or a refused request.

use std::fmt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

/// What kind of failure an [`Error`] is. Each kind maps to one stable code for callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
  /// A syscall failed; `errno` and `syscall` say which and how.
  Sys,
  /// Legacy mount data would not fit in one page and would be cut by the kernel.
  DataTooLong,
  /// More lower layers than the kernel stacks.
  TooManyLayers,
  /// One `fsconfig(2)` string value is longer than the kernel copies.
  ValueTooLong,
  /// The target is already a mount point and stacking was not asked for.
  TargetIsMountPoint,
  /// Unmount was asked of a path that is not a mount point.
  NotMounted,
  /// The upper or work directory is already the upper or work directory of a mounted overlay.
  InUse,
  /// A layer or the target is a symlink, which is never followed.
  Symlink,
  /// The request itself is inconsistent (a layer is the target, upper without work, ...).
  InvalidRequest,
  /// The running kernel lacks what the chosen strategy needs.
  Unsupported,
}

impl ErrorCode {
  /// The stable code callers see, Node-style.
  pub fn as_str(self) -> &'static str {
    match self {
      ErrorCode::Sys => "ERR_OVERLAY_SYSCALL",
      ErrorCode::DataTooLong => "ERR_OVERLAY_DATA_TOO_LONG",
      ErrorCode::TooManyLayers => "ERR_OVERLAY_TOO_MANY_LAYERS",
      ErrorCode::ValueTooLong => "ERR_OVERLAY_VALUE_TOO_LONG",
      ErrorCode::TargetIsMountPoint => "ERR_OVERLAY_TARGET_MOUNTED",
      ErrorCode::NotMounted => "ERR_OVERLAY_NOT_MOUNTED",
      ErrorCode::InUse => "ERR_OVERLAY_IN_USE",
      ErrorCode::Symlink => "ERR_OVERLAY_SYMLINK",
      ErrorCode::InvalidRequest => "ERR_OVERLAY_INVALID_OPTIONS",
      ErrorCode::Unsupported => "ERR_OVERLAY_UNSUPPORTED",
    }
  }
}

/// A failure of the core, carrying the syscall's inputs where one failed.
#[derive(Debug, Clone)]
pub struct Error {
  pub code: ErrorCode,
  pub errno: Option<Errno>,
  pub syscall: Option<&'static str>,
  pub path: Option<PathBuf>,
  /// What the caller asked, what check failed and the numbers, or the kernel's own message.
  pub message: String,
}

impl Error {
  /// A failed syscall on `path`, with what it was doing.
  pub fn sys(errno: Errno, syscall: &'static str, path: Option<&Path>, what: &str) -> Error {
    let at = path
      .map(|p| format!(" '{}'", p.display()))
      .unwrap_or_default();
    Error {
      code: ErrorCode::Sys,
      errno: Some(errno),
      syscall: Some(syscall),
      path: path.map(Path::to_path_buf),
      message: format!("{errno:?}: {}, {syscall}{at} ({what})", errno.desc()),
    }
  }

  /// A refused request: nothing was done.
  pub fn refused(code: ErrorCode, path: Option<&Path>, message: String) -> Error {
    Error {
      code,
      errno: None,
      syscall: None,
      path: path.map(Path::to_path_buf),
      message,
    }
  }

  /// A string for the kernel that holds a NUL byte, which no syscall can take.
  pub fn nul(path: Option<&Path>) -> Error {
    let msg = "a path or value contains a NUL byte".to_string();
    Error::refused(ErrorCode::InvalidRequest, path, msg)
  }

  /// Appends the kernel's own explanation, read from an fs context, to the message.
  pub fn with_kernel_message(mut self, kernel: &str) -> Error {
    if !kernel.is_empty() {
      self.message = format!("{}: kernel says: {kernel}", self.message);
    }
    self
  }

  /// The errno name (`ENOENT`), if a syscall failed.
  pub fn errno_name(&self) -> Option<String> {
    self.errno.map(errno_name)
  }
}

/// The symbolic name of an errno (`ENOENT`), as Node reports it in `err.code`.
pub fn errno_name(errno: Errno) -> String {
  // nix derives Debug on Errno, which prints the constant's name.
  format!("{errno:?}")
}

impl fmt::Display for Error {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str(&self.message)
  }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn sys_error_names_syscall_errno_and_path() {
    let err = Error::sys(Errno::ENOENT, "open", Some(Path::new("/x/y")), "lowerdir 3");
    assert_eq!(err.errno_name().as_deref(), Some("ENOENT"));
    assert_eq!(err.syscall, Some("open"));
    assert!(err.message.starts_with("ENOENT"), "{}", err.message);
    assert!(err.message.contains("open '/x/y'"), "{}", err.message);
    assert!(err.message.contains("lowerdir 3"), "{}", err.message);
  }

  #[test]
  fn unlisted_errno_still_gets_its_name() {
    assert_eq!(errno_name(Errno::ECHILD), "ECHILD");
  }
}
