//! The calling thread's private filesystem state.
//!
//! After `unshare(CLONE_FS)` a thread has its own working directory, root and umask, so a
//! `fchdir` on it moves no other thread. Every mount thread does this once, before its first
//! job; nothing here ever changes the working directory of a thread that has not.

use std::cell::Cell;
use std::os::fd::AsFd;

use nix::sched::{unshare, CloneFlags};
use nix::unistd::fchdir;

use crate::error::{Error, ErrorCode};

thread_local! {
  static PRIVATE: Cell<bool> = const { Cell::new(false) };
}

/// Gives the calling thread its own fs state, once; a no-op on a thread that already has it.
pub fn make_private() -> Result<(), Error> {
  if PRIVATE.with(Cell::get) {
    return Ok(());
  }
  unshare(CloneFlags::CLONE_FS)
    .map_err(|e| Error::sys(e, "unshare", None, "CLONE_FS for the mount thread"))?;
  PRIVATE.with(|p| p.set(true));
  Ok(())
}

/// Whether the calling thread's fs state is its own.
pub fn is_private() -> bool {
  PRIVATE.with(Cell::get)
}

/// Enters `dir` on this thread only. Refuses on a thread that shares its fs state.
pub fn enter<Fd: AsFd>(dir: Fd, what: &str) -> Result<(), Error> {
  if !is_private() {
    let msg = format!("refusing to fchdir ({what}) on a thread that shares the process's cwd");
    return Err(Error::refused(ErrorCode::InvalidRequest, None, msg));
  }
  fchdir(dir).map_err(|e| Error::sys(e, "fchdir", None, what))
}

/// Leaves whatever directory this thread entered, so that it pins no filesystem.
pub fn leave() {
  if is_private() {
    // "/" always exists; a failure here would only keep a directory referenced.
    let _ = nix::unistd::chdir("/");
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::os::fd::OwnedFd;

  #[test]
  fn private_thread_moves_alone() {
    let before = std::env::current_dir().unwrap();
    std::thread::spawn(|| {
      make_private().unwrap();
      let tmp: OwnedFd = nix::fcntl::open(
        "/tmp",
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY,
        nix::sys::stat::Mode::empty(),
      )
      .unwrap();
      enter(&tmp, "test").unwrap();
      assert_eq!(
        std::env::current_dir().unwrap(),
        std::path::Path::new("/tmp")
      );
      leave();
      assert_eq!(std::env::current_dir().unwrap(), std::path::Path::new("/"));
    })
    .join()
    .unwrap();
    assert_eq!(std::env::current_dir().unwrap(), before);
  }

  #[test]
  fn enter_refuses_a_shared_thread() {
    let before = std::env::current_dir().unwrap();
    let err = std::thread::spawn(|| enter(std::io::stdin(), "test"))
      .join()
      .unwrap()
      .unwrap_err();
    assert!(
      err.message.contains("shares the process's cwd"),
      "{}",
      err.message
    );
    assert_eq!(std::env::current_dir().unwrap(), before);
  }
}
