//! Limits the kernel imposes on an overlay mount. Each one lives here and nowhere else.

/// The most lower layers one overlay may stack: `OVL_MAX_STACK` in `fs/overlayfs/params.h`.
/// Data-only layers count against it too.
pub const MAX_LOWER_LAYERS: usize = 500;

/// The fewest lower layers (data-only ones included) of an overlay without an upper layer:
/// overlayfs refuses one layer alone with a bare `EINVAL`, its reason ("at least 2 lowerdir
/// are needed while upperdir nonexistent") going to the kernel log only.
pub const MIN_READ_ONLY_LAYERS: usize = 2;

/// The longest string value `fsconfig(2)` accepts, in bytes: the kernel copies at most
/// 256 bytes including the terminating NUL (`strndup_user(value, 256)` in `fs/fsopen.c`).
pub const FSCONFIG_VALUE_MAX: usize = 255;

/// The running kernel's page size in bytes, from `sysconf(_SC_PAGESIZE)`.
///
/// Legacy `mount(2)` copies one page of mount data and keeps at most `page_size() - 1` bytes
/// of it, silently cutting the rest.
pub fn page_size() -> usize {
  // SAFETY: sysconf has no preconditions.
  let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
  if size > 0 {
    size as usize
  } else {
    4096
  }
}

/// Whether `bytes` of legacy mount data reach the kernel whole on a kernel with `page_size`.
pub fn data_fits(bytes: usize, page_size: usize) -> bool {
  bytes < page_size
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn data_fits_keeps_room_for_the_nul() {
    for page in [4096, 16384, 65536] {
      assert!(data_fits(page - 2, page));
      assert!(data_fits(page - 1, page));
      assert!(!data_fits(page, page));
      assert!(!data_fits(page + 1, page));
    }
  }

  #[test]
  fn page_size_is_the_kernels() {
    let expected = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
      .unwrap()
      .unwrap();
    assert_eq!(page_size(), expected as usize);
  }
}
