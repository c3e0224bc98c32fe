//! Unmounting: `umount2(2)`, never following a symlink at the target.

use std::path::Path;

use nix::errno::Errno;
use nix::mount::{umount2, MntFlags};

use crate::error::{Error, ErrorCode};

/// Unmounts the mount at `target`; with `detach` it is lazily detached (`MNT_DETACH`) even
/// while busy.
pub fn unmount(target: &Path, detach: bool) -> Result<(), Error> {
  let mut flags = MntFlags::UMOUNT_NOFOLLOW;
  if detach {
    flags |= MntFlags::MNT_DETACH;
  }
  umount2(target, flags).map_err(|errno| match errno {
    Errno::EINVAL => {
      let mut err = Error::sys(errno, "umount2", Some(target), "it is not a mount point");
      err.code = ErrorCode::NotMounted;
      err
    }
    Errno::EBUSY => Error::sys(
      errno,
      "umount2",
      Some(target),
      "the mount is in use; detach unmounts it lazily",
    ),
    _ => Error::sys(errno, "umount2", Some(target), "unmounting"),
  })
}
