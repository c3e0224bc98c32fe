//! Mounts by their unique 64-bit ids: `listmount(2)` and `statmount(2)` (Linux 6.8+).
//!
//! Unlike mountinfo, which renders every mount's options on each read, these read only the
//! mounts asked about. The structures are the prefix of the kernel's
//! `include/uapi/linux/mount.h` that this crate reads; libc defines none of them.

use std::ffi::CStr;
use std::ops::BitOr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use nix::errno::Errno;

/// The same number on x86_64 and aarch64 (the generic syscall table).
const SYS_STATMOUNT: libc::c_long = 457;
const SYS_LISTMOUNT: libc::c_long = 458;

/// `listmount`'s "list the whole mount namespace" parent id.
const LSMT_ROOT: u64 = u64::MAX;

/// The size of the first version of `struct mnt_id_req`, which every kernel with the two
/// syscalls takes; a zero `mnt_ns_id` in later versions means the caller's namespace anyway.
const MNT_ID_REQ_SIZE_VER0: u32 = 24;

/// Ids asked of `listmount` per call; a namespace with more is read in pages.
const LIST_PAGE: usize = 512;

/// The largest `statmount` buffer tried before giving up with `EOVERFLOW`.
const STAT_BUFFER_MAX: usize = 16 << 20;

/// `struct mnt_id_req`, version 0.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct MntIdReq {
  pub size: u32,
  pub spare: u32,
  /// The mount asked about (`statmount`) or whose descendants are listed (`listmount`).
  pub mnt_id: u64,
  /// `statmount`: the mask of what to return; `listmount`: the last id already listed.
  pub param: u64,
}

/// `struct statmount` without its string area (`char str[]`), which follows at
/// `size_of::<StatmountHeader>()`. String fields are offsets into that area.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct StatmountHeader {
  pub size: u32,
  pub mnt_opts: u32,
  pub mask: u64,
  pub sb_dev_major: u32,
  pub sb_dev_minor: u32,
  pub sb_magic: u64,
  pub sb_flags: u32,
  pub fs_type: u32,
  pub mnt_id: u64,
  pub mnt_parent_id: u64,
  pub mnt_id_old: u32,
  pub mnt_parent_id_old: u32,
  pub mnt_attr: u64,
  pub mnt_propagation: u64,
  pub mnt_peer_group: u64,
  pub mnt_master: u64,
  pub propagate_from: u64,
  pub mnt_root: u32,
  pub mnt_point: u32,
  pub mnt_ns_id: u64,
  /// Fields of later kernels, which this crate does not read.
  pub spare: [u64; 49],
}

/// What `statmount` is asked to return (`STATMOUNT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatmountMask(u64);

impl StatmountMask {
  pub const SB_BASIC: StatmountMask = StatmountMask(0x01);
  pub const MNT_POINT: StatmountMask = StatmountMask(0x10);
  pub const FS_TYPE: StatmountMask = StatmountMask(0x20);
  /// The filesystem's own options, escaped as mountinfo's super options are (Linux 6.11+);
  /// left out of the answer's mask for a filesystem that shows none.
  pub const MNT_OPTS: StatmountMask = StatmountMask(0x80);

  /// Whether every bit of `other` is set.
  pub fn contains(self, other: StatmountMask) -> bool {
    self.0 & other.0 == other.0
  }
}

impl BitOr for StatmountMask {
  type Output = StatmountMask;
  fn bitor(self, other: StatmountMask) -> StatmountMask {
    StatmountMask(self.0 | other.0)
  }
}

/// What `statmount` returned of one mount; each field is `None` unless asked for and given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountStat {
  pub id: u64,
  /// What the kernel filled in, which can be less than was asked on an older kernel.
  pub mask: StatmountMask,
  pub fs_type: Option<String>,
  /// Relative to the calling thread's root, unescaped.
  pub mount_point: Option<PathBuf>,
  /// Comma-separated, with mountinfo's octal escapes.
  pub options: Option<Vec<u8>>,
}

/// The unique ids of every mount in the calling thread's mount namespace, ascending:
/// `listmount(2)` with `LSMT_ROOT`, one page after another.
pub fn list_all() -> Result<Vec<u64>, Errno> {
  let mut ids = Vec::new();
  let mut page = vec![0u64; LIST_PAGE];
  let mut req = MntIdReq {
    size: MNT_ID_REQ_SIZE_VER0,
    mnt_id: LSMT_ROOT,
    ..MntIdReq::default()
  };
  loop {
    // SAFETY: req is a valid mnt_id_req of the size it states; the kernel writes at most
    // page.len() ids into page.
    let n = unsafe {
      libc::syscall(
        SYS_LISTMOUNT,
        &req as *const MntIdReq,
        page.as_mut_ptr(),
        page.len(),
        0,
      )
    };
    if n < 0 {
      return Err(Errno::last());
    }
    let got = &page[..n as usize];
    ids.extend_from_slice(got);
    match got.last() {
      Some(&last) if got.len() == page.len() => req.param = last,
      _ => return Ok(ids),
    }
  }
}

/// What `mask` asks of mount `id`: `statmount(2)`, retried with a buffer twice as large
/// while the kernel answers `EOVERFLOW`.
pub fn stat(id: u64, mask: StatmountMask) -> Result<MountStat, Errno> {
  let req = MntIdReq {
    size: MNT_ID_REQ_SIZE_VER0,
    mnt_id: id,
    param: mask.0,
    ..MntIdReq::default()
  };
  // u64 words keep the buffer aligned for the header.
  let mut words = 4096 / 8;
  loop {
    let mut buf = vec![0u64; words];
    // SAFETY: req is a valid mnt_id_req; the kernel writes at most the buffer's size.
    let rc = unsafe {
      libc::syscall(
        SYS_STATMOUNT,
        &req as *const MntIdReq,
        buf.as_mut_ptr(),
        words * 8,
        0,
      )
    };
    match rc {
      0 => return Ok(parse(id, as_bytes(&buf))),
      _ if Errno::last() == Errno::EOVERFLOW && words * 8 < STAT_BUFFER_MAX => words *= 2,
      _ => return Err(Errno::last()),
    }
  }
}

fn as_bytes(words: &[u64]) -> &[u8] {
  // SAFETY: any u64 slice is a valid byte slice of eight times its length.
  unsafe { std::slice::from_raw_parts(words.as_ptr().cast(), words.len() * 8) }
}

/// Reads the `statmount` answer for mount `id`: the header, then each string it marks as
/// filled in. (The header's own `mnt_id` is filled in only with `STATMOUNT_MNT_BASIC`.)
fn parse(id: u64, buf: &[u8]) -> MountStat {
  let head_len = std::mem::size_of::<StatmountHeader>();
  // SAFETY: buf holds at least a header (the kernel's minimum buffer) and is 8-aligned.
  let head: StatmountHeader = unsafe { std::ptr::read(buf.as_ptr().cast()) };
  let strings = &buf[head_len..buf.len().min(head.size as usize).max(head_len)];
  let mask = StatmountMask(head.mask);
  let string = |bit: StatmountMask, offset: u32| -> Option<&[u8]> {
    if !mask.contains(bit) {
      return None;
    }
    let tail = strings.get(offset as usize..)?;
    CStr::from_bytes_until_nul(tail).ok().map(CStr::to_bytes)
  };
  MountStat {
    id,
    mask,
    fs_type: string(StatmountMask::FS_TYPE, head.fs_type)
      .map(|s| String::from_utf8_lossy(s).into_owned()),
    mount_point: string(StatmountMask::MNT_POINT, head.mnt_point)
      .map(|s| PathBuf::from(std::ffi::OsStr::from_bytes(s))),
    options: string(StatmountMask::MNT_OPTS, head.mnt_opts).map(<[u8]>::to_vec),
  }
}

#[cfg(test)]
mod tests {
  use std::mem::{offset_of, size_of};

  use super::*;

  #[test]
  fn layouts_match_the_kernel_header() {
    assert_eq!(size_of::<MntIdReq>(), MNT_ID_REQ_SIZE_VER0 as usize);
    assert_eq!(size_of::<StatmountHeader>(), 512);
    assert_eq!(offset_of!(StatmountHeader, mask), 8);
    assert_eq!(offset_of!(StatmountHeader, fs_type), 36);
    assert_eq!(offset_of!(StatmountHeader, mnt_id), 40);
    assert_eq!(offset_of!(StatmountHeader, mnt_root), 104);
    assert_eq!(offset_of!(StatmountHeader, mnt_point), 108);
    assert_eq!(offset_of!(StatmountHeader, mnt_ns_id), 112);
  }

  #[test]
  fn the_root_mount_has_the_fs_type_mountinfo_gives() {
    let Ok(ids) = list_all() else {
      return; // no listmount on this kernel: nothing to compare.
    };
    assert!(!ids.is_empty());
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    let expected = crate::mountinfo::read()
      .unwrap()
      .into_iter()
      .rev()
      .find(|m| m.mount_point == std::path::Path::new("/"))
      .unwrap();
    let mask = StatmountMask::SB_BASIC | StatmountMask::FS_TYPE | StatmountMask::MNT_POINT;
    // The top-most mount on "/" is the last one mounted there: the highest id.
    let root = ids
      .iter()
      .rev()
      .map(|&id| stat(id, mask).unwrap())
      .find(|m| m.mount_point.as_deref() == Some(std::path::Path::new("/")))
      .expect("a mount on /");
    assert_eq!(root.fs_type.as_deref(), Some(expected.fstype.as_str()));
    assert!(root.mask.contains(mask));
  }

  #[test]
  fn every_listed_mount_can_be_stat() {
    let Ok(ids) = list_all() else {
      return;
    };
    let all = StatmountMask::FS_TYPE | StatmountMask::MNT_POINT | StatmountMask::MNT_OPTS;
    for id in ids {
      let m = stat(id, all).unwrap();
      assert!(m.fs_type.is_some() && m.mount_point.is_some(), "{m:?}");
    }
  }
}
