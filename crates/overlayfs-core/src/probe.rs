//! What the running kernel supports, found by trying each feature once per process.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::OnceLock;

use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;

use crate::limits::{page_size, FSCONFIG_VALUE_MAX, MAX_LOWER_LAYERS};
use crate::mount_ids::{self, StatmountMask};
use crate::new_api::FsContext;

/// The running kernel's overlay features.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Features {
  /// `uname -r`.
  pub release: String,
  pub page_size: usize,
  pub max_lower_layers: usize,
  pub fsconfig_value_max: usize,
  /// `fsopen("overlay")` works (Linux 5.2+, and the caller may mount).
  pub new_mount_api: bool,
  /// `fsconfig(FSCONFIG_SET_STRING, "lowerdir+")` is known (Linux 6.8+).
  pub lowerdir_plus: bool,
  /// `fsconfig(FSCONFIG_SET_FD, "lowerdir+")` takes a directory descriptor (Linux 6.13+).
  pub fd_layers: bool,
  /// ... and an `O_PATH` one (Linux 6.15+).
  pub o_path_fds: bool,
  /// `listmount(2)` and `statmount(2)` with `STATMOUNT_MNT_OPTS` work (Linux 6.11+): the
  /// in-use check reads only the mounts that are new since the last check, not mountinfo.
  pub statmount: bool,
  /// The process runs in a user namespace other than the initial one (`unshare -U`), where
  /// overlay needs `userxattr` for a writable mount.
  pub user_namespace: bool,
  /// Why a feature is missing, for each that is, in the kernel's or the syscall's words.
  pub notes: Vec<String>,
}

/// The features of the running kernel, probed on first use and cached for the process.
pub fn features() -> &'static Features {
  static FEATURES: OnceLock<Features> = OnceLock::new();
  FEATURES.get_or_init(probe)
}

/// Probes the running kernel. Each probe builds an overlay context and discards it; none
/// creates a superblock or a mount.
pub fn probe() -> Features {
  let mut notes = Vec::new();
  let release = nix::sys::utsname::uname()
    .map(|u| u.release().to_string_lossy().into_owned())
    .unwrap_or_default();

  let new_mount_api = match FsContext::open() {
    Ok(_) => true,
    Err(e) => {
      notes.push(format!("fsopen(\"overlay\") failed: {e:?}: {}", e.desc()));
      false
    }
  };
  let lowerdir_plus = new_mount_api
    && try_layer(&mut notes, "lowerdir+ by string", |ctx| {
      ctx.set_string(c"lowerdir+", c"/")
    });
  let fd_layers = lowerdir_plus
    && try_layer(&mut notes, "lowerdir+ by O_RDONLY fd", |ctx| {
      let dir = open_root(OFlag::O_RDONLY)?;
      ctx.set_fd(c"lowerdir+", dir.as_raw_fd())
    });
  let o_path_fds = fd_layers
    && try_layer(&mut notes, "lowerdir+ by O_PATH fd", |ctx| {
      let dir = open_root(OFlag::O_PATH)?;
      ctx.set_fd(c"lowerdir+", dir.as_raw_fd())
    });

  let statmount = try_statmount(&mut notes);

  Features {
    release,
    page_size: page_size(),
    max_lower_layers: MAX_LOWER_LAYERS,
    fsconfig_value_max: FSCONFIG_VALUE_MAX,
    new_mount_api,
    lowerdir_plus,
    fd_layers,
    o_path_fds,
    statmount,
    user_namespace: in_user_namespace(),
    notes,
  }
}

/// Whether `statmount` gives the options of a listed mount; if not, records why. A mount
/// whose filesystem shows no options of its own gets no `mnt_opts` even from a kernel that
/// knows them, so mounts are tried until one has some.
fn try_statmount(notes: &mut Vec<String>) -> bool {
  let opts = StatmountMask::MNT_OPTS;
  let ids = match mount_ids::list_all() {
    Ok(ids) => ids,
    Err(e) => {
      notes.push(format!("listmount: {e:?}: {}", e.desc()));
      return false;
    }
  };
  let mut last_error = None;
  for id in ids {
    match mount_ids::stat(id, opts) {
      Ok(m) if m.mask.contains(opts) => return true,
      Ok(_) => {}
      Err(e) => last_error = Some(e),
    }
  }
  notes.push(match last_error {
    Some(e) => format!("statmount: {e:?}: {}", e.desc()),
    None => "statmount: no mount's options were given (STATMOUNT_MNT_OPTS)".to_string(),
  });
  false
}

/// Whether this process's user namespace maps anything less than every uid onto itself,
/// which is what the initial namespace does (`0 0 4294967295`).
fn in_user_namespace() -> bool {
  let map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
  let fields: Vec<&str> = map.split_whitespace().collect();
  fields != ["0", "0", "4294967295"]
}

fn open_root(access: OFlag) -> Result<OwnedFd, nix::errno::Errno> {
  open(
    "/",
    access | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
    Mode::empty(),
  )
}

/// Runs `step` on a fresh overlay context; on failure records the kernel's reason.
fn try_layer(
  notes: &mut Vec<String>,
  what: &str,
  step: impl FnOnce(&FsContext) -> Result<(), nix::errno::Errno>,
) -> bool {
  let Ok(ctx) = FsContext::open() else {
    return false;
  };
  match step(&ctx) {
    Ok(()) => true,
    Err(e) => {
      let kernel = ctx.messages();
      notes.push(
        format!("{what}: {e:?}: {} {kernel}", e.desc())
          .trim_end()
          .to_string(),
      );
      false
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn features_are_consistent_and_cached() {
    let f = features();
    assert!(std::ptr::eq(f, features()));
    assert_eq!(f.page_size, page_size());
    assert_eq!(f.max_lower_layers, 500);
    assert!(!f.release.is_empty());
    // Each feature needs the one before it.
    assert!(!f.o_path_fds || f.fd_layers);
    assert!(!f.fd_layers || f.lowerdir_plus);
    assert!(!f.lowerdir_plus || f.new_mount_api);
  }
}
