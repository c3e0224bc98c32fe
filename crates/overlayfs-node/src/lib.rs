//! The napi-rs binding. It only converts between JavaScript values and the core's types and
//! settles each Promise from the core's own mount thread; all the work is in the core.
#![deny(clippy::all)]

use std::path::PathBuf;

use napi::bindgen_prelude::Object;
use napi::{Env, Result};
use napi_derive::napi;
use overlayfs_core::mountinfo::{self, MountEntry};
use overlayfs_core::pool::{spawn_one, Pool};
use overlayfs_core::{Error, ErrorCode, MountOption, MountRequest, Strategy};

/// One extra overlay option: a flag (`value` absent) or a key with a value.
#[napi(object)]
pub struct NativeOption {
  pub key: String,
  pub value: Option<String>,
}

/// A planned mount, as the TypeScript planner hands it over.
#[napi(object)]
pub struct NativeMountRequest {
  pub strategy: String,
  pub cwd: Option<String>,
  pub target: String,
  pub lower: Vec<String>,
  pub data_layers: Vec<String>,
  pub upper: Option<String>,
  pub work: Option<String>,
  pub options: Vec<NativeOption>,
  pub data: Option<String>,
  pub allow_stacking: bool,
  /// Run on a fresh thread instead of the pool (for measuring the difference only).
  pub fresh_thread: Option<bool>,
}

/// A failure, shaped like the fields of a Node fs error.
#[napi(object)]
pub struct NativeError {
  pub code: String,
  pub errno: Option<i32>,
  pub syscall: Option<String>,
  pub path: Option<String>,
  pub message: String,
}

/// One line of mountinfo.
#[napi(object)]
pub struct NativeMountEntry {
  pub id: i64,
  pub parent: i64,
  pub root: String,
  pub mount_point: String,
  pub fstype: String,
  pub source: String,
  pub super_options: Vec<NativeOption>,
  pub lowerdirs: Vec<String>,
  pub datadirs: Vec<String>,
}

/// What the running kernel supports.
#[napi(object)]
pub struct NativeFeatures {
  pub release: String,
  pub page_size: u32,
  pub max_lower_layers: u32,
  pub fsconfig_value_max: u32,
  pub new_mount_api: bool,
  pub lowerdir_plus: bool,
  pub fd_layers: bool,
  pub o_path_fds: bool,
  pub statmount: bool,
  pub user_namespace: bool,
  pub notes: Vec<String>,
}

fn native_error(err: Error) -> NativeError {
  NativeError {
    // Like Node's fs errors, a failed syscall's code is its errno name; a refusal has its own.
    code: match err.code {
      ErrorCode::Sys => err
        .errno_name()
        .unwrap_or_else(|| err.code.as_str().to_string()),
      code => code.as_str().to_string(),
    },
    errno: err.errno.map(|e| e as i32),
    syscall: err.syscall.map(str::to_string),
    path: err.path.map(|p| p.to_string_lossy().into_owned()),
    message: err.message,
  }
}

fn native_entry(entry: MountEntry) -> NativeMountEntry {
  let (lowerdirs, datadirs) = entry.lowerdirs();
  NativeMountEntry {
    id: entry.id as i64,
    parent: entry.parent as i64,
    root: entry.root,
    mount_point: entry.mount_point.to_string_lossy().into_owned(),
    fstype: entry.fstype,
    source: entry.source,
    super_options: entry
      .super_options
      .into_iter()
      .map(|(key, value)| NativeOption { key, value })
      .collect(),
    lowerdirs,
    datadirs,
  }
}

fn core_request(req: NativeMountRequest) -> std::result::Result<MountRequest, NativeError> {
  let strategy = Strategy::parse(&req.strategy).ok_or_else(|| NativeError {
    code: "ERR_OVERLAY_INVALID_OPTIONS".into(),
    errno: None,
    syscall: None,
    path: None,
    message: format!("unknown strategy '{}'", req.strategy),
  })?;
  let paths = |v: Vec<String>| v.into_iter().map(PathBuf::from).collect();
  Ok(MountRequest {
    strategy,
    cwd: req.cwd.map(PathBuf::from),
    target: req.target.into(),
    lower: paths(req.lower),
    data_layers: paths(req.data_layers),
    upper: req.upper.map(PathBuf::from),
    work: req.work.map(PathBuf::from),
    options: req
      .options
      .into_iter()
      .map(|o| MountOption {
        key: o.key,
        value: o.value,
      })
      .collect(),
    data: req.data,
    allow_stacking: req.allow_stacking,
  })
}

/// Runs `work` on a mount thread and settles the returned Promise with its result there.
fn on_mount_thread<T, F>(env: &Env, fresh: bool, work: F) -> Result<Object<'_>>
where
  T: napi::bindgen_prelude::ToNapiValue + Send + 'static,
  F: FnOnce() -> T + Send + 'static,
{
  let (deferred, promise) = env.create_deferred()?;
  let job = move || match std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)) {
    Ok(value) => deferred.resolve(move |_env| Ok(value)),
    // A bug, never an outcome: still settle the Promise rather than leave it pending.
    Err(_) => deferred.reject(napi::Error::from_reason(
      "overlayfs: the mount thread panicked",
    )),
  };
  if fresh {
    spawn_one(job);
  } else {
    Pool::global().submit(job);
  }
  Ok(promise)
}

/// Mounts a planned request on a mount thread. Resolves to `null` on success or to the
/// error; it never rejects, so that the TypeScript layer builds every error the same way.
#[napi(ts_return_type = "Promise<NativeError | null>")]
pub fn mount(env: &Env, request: NativeMountRequest) -> Result<Object<'_>> {
  let fresh = request.fresh_thread.unwrap_or(false);
  on_mount_thread(env, fresh, move || {
    core_request(request)
      .and_then(|req| overlayfs_core::mount(&req).map_err(native_error))
      .err()
  })
}

/// Unmounts `target` (`umount2` with `UMOUNT_NOFOLLOW`, and `MNT_DETACH` if asked).
#[napi(ts_return_type = "Promise<NativeError | null>")]
pub fn unmount(env: &Env, target: String, detach: bool) -> Result<Object<'_>> {
  on_mount_thread(env, false, move || {
    overlayfs_core::unmount(target.as_ref(), detach)
      .map_err(native_error)
      .err()
  })
}

/// The top-most mount at `target` in this process's mount namespace, or `null`.
#[napi(ts_return_type = "Promise<NativeMountEntry | null>")]
pub fn find_mount(env: &Env, target: String) -> Result<Object<'_>> {
  on_mount_thread(env, false, move || {
    mountinfo::find(target.as_ref())
      .ok()
      .flatten()
      .map(native_entry)
  })
}

/// The running kernel's features, probed once per process.
#[napi]
pub fn probe_sync() -> NativeFeatures {
  let f = overlayfs_core::features();
  NativeFeatures {
    release: f.release.clone(),
    page_size: f.page_size as u32,
    max_lower_layers: f.max_lower_layers as u32,
    fsconfig_value_max: f.fsconfig_value_max as u32,
    new_mount_api: f.new_mount_api,
    lowerdir_plus: f.lowerdir_plus,
    fd_layers: f.fd_layers,
    o_path_fds: f.o_path_fds,
    statmount: f.statmount,
    user_namespace: f.user_namespace,
    notes: f.notes.clone(),
  }
}

/// How many mount threads the core has started.
#[napi]
pub fn mount_threads() -> u32 {
  Pool::global().threads() as u32
}
