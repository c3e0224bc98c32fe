//! What overlayfs makes inside the work dir, and taking it back when a mount fails.
//!
//! The kernel creates `work/` (and `index/` with `index=on`) inside the work dir early in
//! setting up an overlay, before several checks that can still refuse the mount (overlapping
//! layers among them). A refused mount would leave them behind.

use std::os::fd::AsFd;

use nix::fcntl::AtFlags;
use nix::sys::stat::fstatat;
use nix::unistd::{unlinkat, UnlinkatFlags};

/// The entries overlayfs creates inside a work dir.
const KERNEL_ENTRIES: [&str; 2] = ["work", "index"];

/// Which of [`KERNEL_ENTRIES`] a work dir lacked before a mount was tried.
pub struct Missing {
  names: Vec<&'static str>,
}

/// Notes which kernel entries the work dir open at `work` lacks now.
pub fn missing<Fd: AsFd>(work: Fd) -> Missing {
  let names = KERNEL_ENTRIES
    .into_iter()
    .filter(|name| fstatat(work.as_fd(), *name, AtFlags::AT_SYMLINK_NOFOLLOW).is_err())
    .collect();
  Missing { names }
}

impl Missing {
  /// After a failed mount, removes the kernel entries that were missing before it. Only
  /// empty directories go (`rmdir`); anything else is left as it is.
  pub fn remove_new<Fd: AsFd>(&self, work: Fd) {
    for name in &self.names {
      // ENOENT (never made) and ENOTEMPTY (not the kernel's empty dir) both leave it be.
      let _ = unlinkat(work.as_fd(), *name, UnlinkatFlags::RemoveDir);
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use nix::fcntl::{open, OFlag};
  use nix::sys::stat::Mode;

  #[test]
  fn only_new_empty_kernel_dirs_are_removed() {
    let dir = std::env::temp_dir().join(format!("ovl-workdir-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("index")).unwrap();
    let fd = open(&dir, OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty()).unwrap();

    let before = missing(&fd);
    assert_eq!(before.names, vec!["work"]);
    std::fs::create_dir(dir.join("work")).unwrap();
    before.remove_new(&fd);
    assert!(!dir.join("work").exists());
    assert!(dir.join("index").exists(), "it was there before");

    let before = missing(&fd);
    std::fs::create_dir_all(dir.join("work/busy")).unwrap();
    before.remove_new(&fd);
    assert!(
      dir.join("work/busy").exists(),
      "a work dir that is not empty stays"
    );
    std::fs::remove_dir_all(&dir).unwrap();
  }
}
