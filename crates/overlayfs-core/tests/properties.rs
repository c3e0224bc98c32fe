//! Property tests of what the core parses and builds: mountinfo lines, legacy `lowerdir=`
//! lists and the `procfd` mount data. No mount is made; the inputs are arbitrary bytes and
//! strings, with the characters that have a meaning somewhere (space, tab, newline, `\`,
//! `,`, `:`, `=`) drawn far more often than chance would draw them.

use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use overlayfs_core::legacy::procfd_data;
use overlayfs_core::limits::page_size;
use overlayfs_core::mountinfo::{parse, parse_line, split_lowerdir, unescape};
use overlayfs_core::{MountOption, MountRequest, Strategy as MountStrategy};
use proptest::prelude::*;

/// What the kernel escapes in mountinfo's path fields (`seq_path_root`, `seq_dentry`).
const PATH_ESCAPED: &[u8] = b" \t\n\\";
/// What `seq_show_option` escapes in an option's value: the same, and the comma.
const VALUE_ESCAPED: &[u8] = b", \t\n\\";

/// Escapes `bytes` the way the kernel's `seq_escape` does: each byte of `special` as `\ooo`.
fn kernel_escape(bytes: &[u8], special: &[u8]) -> String {
  let mut out = String::new();
  for &b in bytes {
    if special.contains(&b) {
      out.push_str(&format!("\\{b:03o}"));
    } else {
      out.push(char::from(b));
    }
  }
  out
}

/// `kernel_escape` for text: multi-byte characters pass through whole.
fn kernel_escape_text(text: &str, special: &[u8]) -> String {
  let mut out = String::new();
  for c in text.chars() {
    match u8::try_from(c) {
      Ok(b) if special.contains(&b) => out.push_str(&format!("\\{b:03o}")),
      _ => out.push(c),
    }
  }
  out
}

/// `kernel_escape` for a field of arbitrary bytes, kept as bytes (a path need not be UTF-8).
fn kernel_escape_bytes(bytes: &[u8], special: &[u8]) -> Vec<u8> {
  let mut out = Vec::new();
  for &b in bytes {
    if special.contains(&b) {
      out.extend_from_slice(format!("\\{b:03o}").as_bytes());
    } else {
      out.push(b);
    }
  }
  out
}

/// Escapes one layer for a legacy `lowerdir=` list: `\` before `:` and `\`.
fn escape_lowerdir(layer: &str) -> String {
  let mut out = String::new();
  for c in layer.chars() {
    if c == ':' || c == '\\' {
      out.push('\\');
    }
    out.push(c);
  }
  out
}

/// Undoes overlayfs's escaping of `upperdir=` and `workdir=`: `\` keeps the next character.
fn unescape_upper(value: &str) -> String {
  let mut out = String::new();
  let mut chars = value.chars();
  while let Some(c) = chars.next() {
    if c == '\\' {
      out.extend(chars.next());
    } else {
      out.push(c);
    }
  }
  out
}

/// One character, the meaningful ones weighted up.
fn hostile_char() -> impl Strategy<Value = char> {
  prop_oneof![
    3 => prop::sample::select(vec![' ', '\t', '\n', '\\', ',', ':', '=']),
    2 => prop::char::range('a', 'z'),
    1 => any::<char>(),
  ]
}

/// A non-empty name of hostile characters.
fn hostile_name(max: usize) -> impl Strategy<Value = String> {
  prop::collection::vec(hostile_char(), 1..max).prop_map(String::from_iter)
}

/// Arbitrary bytes, the meaningful ones weighted up.
fn hostile_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
  let byte = prop_oneof![
    3 => prop::sample::select(b" \t\n\\,:=".to_vec()),
    1 => any::<u8>(),
  ];
  prop::collection::vec(byte, 0..max)
}

/// A mountinfo line of an overlay at `mount_point` with these super options, escaped.
fn overlay_line(mount_point: &[u8], source: &str, options: &[(&str, String)]) -> Vec<u8> {
  let options: Vec<String> = options
    .iter()
    .map(|(key, value)| format!("{key}={}", kernel_escape_text(value, VALUE_ESCAPED)))
    .collect();
  let mut line = b"36 35 0:50 / ".to_vec();
  line.extend(kernel_escape_bytes(mount_point, PATH_ESCAPED));
  line.extend_from_slice(b" rw,relatime shared:1 - overlay ");
  line.extend_from_slice(kernel_escape_text(source, PATH_ESCAPED).as_bytes());
  line.extend_from_slice(format!(" rw,{}", options.join(",")).as_bytes());
  line
}

fn procfd_request(lower: usize, upper: Option<(String, String)>) -> MountRequest {
  MountRequest {
    strategy: MountStrategy::ProcFd,
    cwd: None,
    target: PathBuf::from("/t"),
    lower: (0..lower)
      .map(|i| PathBuf::from(format!("/l{i}")))
      .collect(),
    data_layers: vec![],
    upper: upper.as_ref().map(|(u, _)| PathBuf::from(u)),
    work: upper.as_ref().map(|(_, w)| PathBuf::from(w)),
    options: vec![MountOption {
      key: "index".into(),
      value: Some("off".into()),
    }],
    data: None,
    allow_stacking: false,
  }
}

proptest! {
  #[test]
  fn unescape_inverts_the_kernels_octal_escapes(bytes in hostile_bytes(200)) {
    let escaped = kernel_escape_bytes(&bytes, PATH_ESCAPED);
    prop_assert_eq!(unescape(&escaped), bytes);
  }

  #[test]
  fn a_text_that_only_looks_escaped_is_kept(text in "[^\\\\]{0,40}") {
    // Without a backslash there is nothing to unescape.
    prop_assert_eq!(unescape(text.as_bytes()), text.as_bytes().to_vec());
  }

  #[test]
  fn a_mount_point_of_any_bytes_parses_back(
    tail in hostile_bytes(120),
    source in hostile_name(20),
  ) {
    let mut mount_point = b"/m/".to_vec();
    mount_point.extend(&tail);
    let line = overlay_line(&mount_point, &source, &[("lowerdir+", "/l".into())]);
    let entry = parse_line(&line).expect("the line parses");
    prop_assert_eq!(entry.mount_point.as_os_str().as_bytes(), &mount_point[..]);
    prop_assert_eq!(entry.source, source);
    prop_assert_eq!(entry.fstype, "overlay");
  }

  #[test]
  fn new_api_layers_of_any_name_parse_back(
    lower in prop::collection::vec(hostile_name(30), 1..8),
    data in prop::collection::vec(hostile_name(30), 0..3),
    upper in hostile_name(30),
  ) {
    let mut options: Vec<(&str, String)> =
      lower.iter().map(|l| ("lowerdir+", l.clone())).collect();
    options.extend(data.iter().map(|d| ("datadir+", d.clone())));
    options.push(("upperdir", upper.clone()));
    let entry = parse_line(&overlay_line(b"/m", "overlay", &options)).expect("the line parses");
    prop_assert_eq!(entry.lowerdirs(), (lower, data));
    prop_assert_eq!(entry.option("upperdir"), Some(upper.as_str()));
    prop_assert_eq!(entry.super_options.len(), options.len() + 1);
  }

  #[test]
  fn split_lowerdir_inverts_the_legacy_escaping(
    lower in prop::collection::vec(hostile_name(30), 1..10),
    data in prop::collection::vec(hostile_name(30), 0..4),
  ) {
    let mut value = lower.iter().map(|l| escape_lowerdir(l)).collect::<Vec<_>>().join(":");
    for d in &data {
      value.push_str("::");
      value.push_str(&escape_lowerdir(d));
    }
    prop_assert_eq!(split_lowerdir(&value), (lower.clone(), data.clone()));

    // The same list as mountinfo shows a legacy mount: the value escaped once more.
    let entry = parse_line(&overlay_line(b"/m", "overlay", &[("lowerdir", value)]))
      .expect("the line parses");
    prop_assert_eq!(entry.lowerdirs(), (lower, data));
  }

  #[test]
  fn procfd_data_never_carries_a_paths_comma(
    lower in 1usize..40,
    upper in hostile_name(40),
    work in hostile_name(40),
    fd_base in 3 as RawFd..100_000,
  ) {
    let (upper, work) = (format!("/{upper}"), format!("/{work}"));
    let req = procfd_request(lower, Some((upper.clone(), work.clone())));
    let data = procfd_data(&req, |i| fd_base + i as RawFd);

    // Exactly the options asked for: no path can add, drop or replace one.
    let parts: Vec<&str> = data.split(',').collect();
    prop_assert_eq!(parts.len(), 4, "{}", data);
    let lowerdir = parts[0].strip_prefix("lowerdir=").expect("lowerdir first");
    let fds: Vec<String> = (0..lower).map(|i| (fd_base + i as RawFd).to_string()).collect();
    prop_assert_eq!(lowerdir, fds.join(":"));
    prop_assert_eq!(parts[3], "index=off");

    // Upper and work go by path, escaped the way overlayfs unescapes, or by descriptor.
    for (part, key, path, fd) in [
      (parts[1], "upperdir=", &upper, fd_base + lower as RawFd),
      (parts[2], "workdir=", &work, fd_base + lower as RawFd + 1),
    ] {
      let value = part.strip_prefix(key).expect("key in place");
      if path.contains(',') {
        prop_assert_eq!(value, fd.to_string());
      } else {
        prop_assert_eq!(unescape_upper(value), path.clone());
      }
    }
  }

  #[test]
  fn procfd_data_of_a_read_only_overlay_is_descriptors_only(
    lower in 1usize..500,
    fd_base in 3 as RawFd..1_000_000,
  ) {
    let data = procfd_data(&procfd_request(lower, None), |i| fd_base + i as RawFd);
    let lowerdir = data.strip_suffix(",index=off").and_then(|d| d.strip_prefix("lowerdir="));
    let lowerdir = lowerdir.expect("lowerdir, then the options");
    prop_assert_eq!(lowerdir.split(':').count(), lower);
    prop_assert!(lowerdir.split(':').all(|fd| fd.parse::<RawFd>().is_ok()));
  }
}

proptest! {
  // Each case builds and parses a line of several pages: fewer cases keep the suite fast.
  #![proptest_config(ProptestConfig::with_cases(48))]

  #[test]
  fn a_line_longer_than_a_page_parses_whole(
    lower in prop::collection::vec(hostile_name(40), 150..260),
    tail in hostile_bytes(60),
  ) {
    let options: Vec<(&str, String)> =
      lower.iter().map(|l| ("lowerdir+", format!("/store/snapshots/{l}/fs"))).collect();
    let mut mount_point = b"/m/".to_vec();
    mount_point.extend(&tail);
    let line = overlay_line(&mount_point, "overlay", &options);
    prop_assume!(line.len() > page_size());

    let mut content = b"1 0 8:1 / / rw - ext4 /dev/vda rw\n".to_vec();
    content.extend(&line);
    content.extend_from_slice(b"\n2 1 0:5 / /proc rw - proc proc rw\n");
    let entries = parse(&content);
    prop_assert_eq!(entries.len(), 3);
    let expected: Vec<String> = options.into_iter().map(|(_, v)| v).collect();
    prop_assert_eq!(entries[1].lowerdirs().0, expected);
    prop_assert_eq!(entries[1].mount_point.as_os_str().as_bytes(), &mount_point[..]);
    prop_assert_eq!(&entries[2].mount_point, Path::new("/proc"));
  }
}

#[test]
fn the_escape_used_here_is_the_kernels() {
  // As in /proc/self/mountinfo for a mount point "/a b\tc\nd\\e".
  assert_eq!(
    kernel_escape(b"/a b\tc\nd\\e", PATH_ESCAPED),
    r"/a\040b\011c\012d\134e"
  );
  assert_eq!(kernel_escape_text("/u,v", VALUE_ESCAPED), r"/u\054v");
}
