//! The directories that mounted overlays write to, for the in-use check.
//!
//! Read through `listmount(2)` and `statmount(2)` and cached by unique mount id, which the
//! kernel never reuses, so that a check costs a `listmount` plus one `statmount` per mount
//! that is new since the last check, however many overlays are mounted. Where those
//! syscalls fail (before Linux 6.8, or 6.11 for the options), mountinfo is read whole.
//!
//! NOTE: an overlay's upper and work dirs are resolved once, when its mount is first seen.
//! A directory renamed later is still recognised; a path that did not resolve then (hidden
//! under another mount, say) is not tried again while that overlay stays mounted.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use nix::errno::Errno;

use crate::error::Error;
use crate::layers::unescape_upper;
use crate::mount_ids::{self, StatmountMask};
use crate::mountinfo;

/// One directory a mounted overlay writes to, resolved to its identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Writer {
  pub mount_point: PathBuf,
  /// `upperdir` or `workdir`.
  pub key: &'static str,
  pub dev: u64,
  pub ino: u64,
}

/// The writers known in one mount namespace, by mount id (none for a mount that is not a
/// writable overlay).
struct Namespace {
  /// `(st_dev, st_ino)` of `/proc/thread-self/ns/mnt`.
  key: (u64, u64),
  mounts: HashMap<u64, Vec<Writer>>,
}

/// Namespaces kept, most recently checked first: the process's own, and a few that threads
/// entered (as tests do).
const NAMESPACES_KEPT: usize = 4;

static CACHE: Mutex<Vec<Namespace>> = Mutex::new(Vec::new());

/// The first writer, among the overlays mounted in the calling thread's mount namespace,
/// whose directory is one of `dirs` (`(dev, ino)` pairs).
pub fn find(dirs: &[(u64, u64)]) -> Result<Option<Writer>, Error> {
  // Any errno of the fast path sends the check to mountinfo, which every kernel has.
  match find_listed(dirs) {
    Ok(found) => Ok(found),
    Err(_) => find_in_mountinfo(dirs),
  }
}

/// [`find`] through the cache: lists the namespace's mount ids, forgets the ones that are
/// gone and describes the ones not seen before.
pub fn find_listed(dirs: &[(u64, u64)]) -> Result<Option<Writer>, Errno> {
  let key = namespace_key()?;
  let mut ids = mount_ids::list_all()?;
  ids.sort_unstable();

  // NOTE: statmount and stat run under the lock; they touch no filesystem but the ones
  // a new overlay's upper and work dirs are on.
  let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
  let at = cache.iter().position(|ns| ns.key == key);
  let ns = match at {
    Some(i) => cache.remove(i),
    None => Namespace {
      key,
      mounts: HashMap::new(),
    },
  };
  cache.insert(0, ns);
  cache.truncate(NAMESPACES_KEPT);
  let mounts = &mut cache[0].mounts;

  mounts.retain(|id, _| ids.binary_search(id).is_ok());
  for id in ids {
    if mounts.contains_key(&id) {
      continue;
    }
    match describe(id) {
      Ok(writers) => {
        mounts.insert(id, writers);
      }
      // Unmounted since it was listed.
      Err(Errno::ENOENT) => continue,
      Err(e) => return Err(e),
    }
  }
  let found = mounts
    .values()
    .flatten()
    .find(|w| dirs.contains(&(w.dev, w.ino)));
  Ok(found.cloned())
}

/// Identifies the calling thread's mount namespace. The inode can be reused once the
/// namespace is gone, which is harmless: only ids that `listmount` gives are ever read.
fn namespace_key() -> Result<(u64, u64), Errno> {
  let st = nix::sys::stat::stat("/proc/thread-self/ns/mnt")?;
  Ok((st.st_dev, st.st_ino))
}

/// The writers of mount `id`: none unless it is an overlay with an upper layer.
fn describe(id: u64) -> Result<Vec<Writer>, Errno> {
  let basic = StatmountMask::SB_BASIC | StatmountMask::FS_TYPE | StatmountMask::MNT_POINT;
  let mount = mount_ids::stat(id, basic)?;
  if mount.fs_type.as_deref() != Some("overlay") {
    return Ok(Vec::new());
  }
  let mount = mount_ids::stat(id, StatmountMask::MNT_POINT | StatmountMask::MNT_OPTS)?;
  // A kernel that does not know STATMOUNT_MNT_OPTS leaves it out of the mask.
  let (Some(options), Some(mount_point)) = (mount.options, mount.mount_point) else {
    return Err(Errno::EOPNOTSUPP);
  };
  Ok(resolve(&mount_point, &mountinfo::writer_options(&options)))
}

/// [`find`] from mountinfo, resolving every overlay's writers anew.
pub fn find_in_mountinfo(dirs: &[(u64, u64)]) -> Result<Option<Writer>, Error> {
  let content = mountinfo::read_raw()?;
  for listed in mountinfo::overlay_writers(&content) {
    let options = [(listed.key, listed.value)];
    let writers = resolve(&listed.mount_point, &options);
    if let Some(found) = writers.into_iter().find(|w| dirs.contains(&(w.dev, w.ino))) {
      return Ok(Some(found));
    }
  }
  Ok(None)
}

/// Resolves `upperdir` and `workdir` values to the directories they name now.
///
/// An upper or work dir handed over as a string is listed as it was given, with overlayfs's
/// escaping of `\`; one handed over by descriptor is listed as it is. Both readings of each
/// value are kept: a false match refuses a mount, a miss would let two overlays share one.
/// Relative and descriptor paths cannot be resolved here and are passed over; this package
/// lists absolute ones.
fn resolve(mount_point: &Path, options: &[(&'static str, String)]) -> Vec<Writer> {
  let mut writers: Vec<Writer> = Vec::new();
  for (key, value) in options {
    for listed in [value.clone(), unescape_upper(value)] {
      let path = Path::new(&listed);
      if !path.is_absolute() {
        continue;
      }
      let Ok(st) = nix::sys::stat::stat(path) else {
        continue;
      };
      let writer = Writer {
        mount_point: mount_point.to_path_buf(),
        key,
        dev: st.st_dev,
        ino: st.st_ino,
      };
      if !writers.contains(&writer) {
        writers.push(writer);
      }
    }
  }
  writers
}
