//! The napi-rs binding. It only converts between JavaScript values and the core's types and
//! hands jobs to the core's own mount threads through a channel; all the work is in the core.
#![deny(clippy::all)]

mod channel;
mod values;

pub use channel::Channel;
pub use values::{
  NativeCompletion, NativeError, NativeMountEntry, NativeMountRequest, NativeOption,
};

use napi_derive::napi;
use overlayfs_core::pool::Pool;

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
