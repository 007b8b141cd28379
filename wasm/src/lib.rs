//! # cliauth-wasm
//!
//! cliauth's core in web pages, through wasm-bindgen: the cli-auth page that hands a
//! credential to the CLI's loopback server, the device-verification page, and a web
//! page's own browser login — with the same checks, decisions and error taxonomy as
//! the native CLI, because they are the same code (`cliauth-core`).
//!
//! The public JavaScript API is the npm package `cliauth` (`npm/`), a thin ESM layer
//! over this crate that adds what only JS can do: `fetch`, timers, Web Storage,
//! navigation. The page helpers cross the boundary as bytes ([`page`]: JSON arguments
//! in, a tagged JSON reply out, through one export and a hand-written loader); the
//! full build extends that boundary with its own operations ([`full_call`]: one more
//! export, no wasm-bindgen shim per function). Times are `Date.now()` milliseconds,
//! and every failure becomes a `CliauthError` (`code`, `kind`, `exitCode`, `hint`).
//!
//! ## Modules
//!
//! | Module | What it exports |
//! |---|---|
//! | `context`, `config` | what a page configured (`configure`): app names, key formats, user codes |
//! | [`page`] | the page boundary: one export for every page helper, bytes in and out |
//! | [`error`] | core's errors for JS: the boundaries' JSON |
//! | [`full_call`] (full) | the full boundary: the page's operations and the full module's, bytes in and out |
//! | `convert`, `plain` | values across the boundary: JSON text, times, entropy |
//! | `handoff`, `device_page` | the cli-auth page and the device-verification page |
//! | `machine` (full) | core's flows — device login, browser login, access token — held by number for the npm `run()` loop |
//! | `pkce`, `keys`, `jwt`, `tokens`, `credentials` (full) | PKCE and `state`, key validation, JWT claims, token responses, the credentials document |
//!
//! Files stay under 500 lines, and no module imports one that imports it back
//! (`cargo xtask test --only layout` checks both).
//!
//! ## The builds
//!
//! Without default features, the crate is a **page** module, made of `configure`,
//! the errors and the page operations its features select:
//!
//! - `handoff`: the cli-auth page's (`cliauth/handoff`);
//! - `device`: the device-verification page's, with API errors (`cliauth/device`);
//! - both together: `cliauth`.
//!
//! Every other operation answers "unknown to this module". The `full` feature (the
//! default) holds both pages and adds PKCE, `state`, key validation, JWT decoding,
//! token parsing, the browser login, and core's machines (device login, refresh,
//! approval) with credential storage.
//!
//! ## Size
//!
//! The page modules have a budget: at most 23 KB gzip for everything a public page
//! loads, its wasm and its entry script. The larger of `cliauth/handoff` and
//! `cliauth/device` is measured (`cargo xtask size`, enforced by `cargo xtask test`);
//! the goal is 14 KB (issue 12). Splitting the page module per page took what a page
//! loads from 29.2 KB (`cliauth`, both pages) to 22.7 KB for the cli-auth page and
//! 23.7 KB for the device page: wasm 57.3 → 44.2 and 46.3 KB raw. The configuration
//! each keeps is its own page's (both check every option): without the key registry
//! (and its table of other products' key formats) the device page is 22.9 KB (wasm
//! 44.6 KB raw). With std built for size (below) both are 22.3 KB. A module with
//! `configure` and the errors alone is 27.8 KB raw, 13.3 KB gzip: that is the floor
//! that the next cuts have to lower. What keeps the modules small:
//!
//! - **no wasm-bindgen glue for the page entry.** wasm-bindgen writes a conversion
//!   shim per export and parameter (reading JS strings, copying byte arrays,
//!   `Option`s, results as thrown `Error`s) and the JS that drives them; for the
//!   page's eleven helpers that was most of the module. The page helpers are one
//!   operation-numbered export instead ([`page`]): JSON arguments in, a tagged reply
//!   out, moved by `npm/src/page-wasm.js` (about thirty lines) and instantiated by
//!   `npm/src/index.js` itself (`instantiateStreaming`). `#[wasm_bindgen]` still
//!   marks the two numeric exports (`pageInput`, `pageCall`: no shim is generated
//!   for plain integers): a bare `#[unsafe(no_mangle)]` export would need
//!   `unsafe_code`, which this crate forbids. Measured: page module 38.6 → 35.2 KB
//!   gzip (wasm 75.2 → 72.1 KB raw, 35.1 → 33.1 KB gzip; its script 9.1 → 4.8 KB
//!   raw, 3.5 → 2.2 KB gzip);
//! - no serde_json: the page paths of core write their small JSON bodies with
//!   `cliauth_core::json` and read error bodies and the boundary's arguments with
//!   its small reader (`serde_json` is a dependency of the `full` feature only);
//! - core's own form codec instead of `form_urlencoded` (its escape table and
//!   generic serializer): 72.1 → 69.1 KB raw, 33.1 → 31.4 KB gzip;
//! - no panicking string indexing, substring searchers or Unicode case tables on
//!   those paths (core's choice; the `full` build links them anyway);
//! - the allocator: [lol_alloc](https://crates.io/crates/lol_alloc)'s free list in
//!   the page build (69.1 → 68.2 KB raw, 31.4 → 31.0 KB gzip; memory stays flat over
//!   tens of thousands of calls), [talc](https://crates.io/crates/talc) in the full
//!   build (many more, longer-lived allocations); both are smaller than std's
//!   dlmalloc (talc by about 5 KB);
//! - the build (`cargo xtask npm-build`): `opt-level = "z"`, fat LTO, one codegen
//!   unit, `panic = "abort"`; the functions a panic runs through are snipped to
//!   `unreachable` before `wasm-opt -Oz` (their messages had nowhere to go on
//!   wasm32-unknown-unknown); std itself is built from the toolchain's sources
//!   for size (`-Zbuild-std` with `optimize_for_size`, `-Cpanic=immediate-abort`,
//!   `-Zlocation-detail=none`, enabled by `RUSTC_BOOTSTRAP=1` for that one cargo
//!   command; a toolchain that refuses them gets the prebuilt std, with a
//!   warning): the prebuilt std keeps its panic runtime and `core::fmt` even
//!   under `panic = "abort"`, so the full module sheds 7.6 KB gzip (of `core::fmt`
//!   2.7 KB raw is left, for its own `format!` calls) and the page modules
//!   0.4–0.8 KB; the JS is one minified
//!   ESM file per entry (esbuild).
//!
//! Measured (wasm after `wasm-opt -Oz`, before snipping; raw / gzip -9, KB = 1024 B;
//! before the page boundary):
//!
//! | choice | page module | full module |
//! |---|---|---|
//! | `opt-level = "z"` (the build) | 79.9 KB / 36.9 KB | 277.2 KB / 119.7 KB |
//! | `opt-level = "s"` instead | 89.9 KB / 40.2 KB | |
//! | `wasm-opt -Oz --converge`, or `-Os` | ± 0.1 KB | |
//! | snipping the panic paths (the build) | −2.3 KB / −0.9 KB | −6.2 KB / −2.6 KB |
//! | core's messages and hints without `core::fmt` (the build; after snipping) | −6.6 KB / −2.8 KB | |
//! | no error messages or hints at all (an upper bound of what `core::fmt`-free errors could save) | −11.0 KB / −4.0 KB | |
//!
//! Measured and not taken (after the page boundary): core's messages and hints as
//! templates filled by one function instead of a `concat` per variant, −0.4 KB raw
//! and no gzip change; the page module embedded (base64) in its entry script, one
//! file of 98 KB raw: the handoff latency within noise of the two preloaded files.
//!
//! ### The full module
//!
//! No budget yet (the goal is 40 KB gzip, issue 12; BENCHMARKS.md §"Full module"
//! has the path). What it does for size, measured with `cargo xtask size` (wasm +
//! `full.js`, gzip -9, on a loaded machine):
//!
//! - **the full boundary** ([`full_call`]): every function of the full API is an
//!   operation of the page boundary's framing, not a wasm-bindgen export; machines
//!   are numbers in a table, released by a `FinalizationRegistry`; arguments are
//!   read with core's JSON reader. 153.1 → 144.9 KB gzip (wasm 340.1 → 327.7 KB raw,
//!   its script 25.8 → 13.4 KB raw). Less than the shims' 58.8 KB raw suggested: most
//!   of a shim was the export's own body, inlined; that code moved into `fullCall`;
//! - the credentials document's known fields, `credentialsStatus` and the JWT's
//!   other claims written with core's string writer, not serde_json's serializer
//!   and `Value`s: 144.9 → 140.1 KB (wasm 327.7 → 314.8 KB raw);
//! - time and entropy from JS with each call (`Date.now()`,
//!   `crypto.getRandomValues`), so the module imports nothing and is instantiated
//!   by `npm/src/full.js` itself, like the page module (no getrandom, js-sys or
//!   wasm-bindgen glue): 140.1 → 139.1 KB (wasm 314.8 → 312.6 KB raw, script 13.4 →
//!   12.0 KB raw);
//! - core's `CredentialsDocument::clone_secret` without `collect` into a `BTreeMap`
//!   (which sorts first: the module's only stable sort): 139.1 → 136.3 KB (wasm
//!   312.4 → 306.5 KB raw).
//!
//! ### serde-wasm-bindgen and web-sys
//!
//! The design names both for the wasm shell; measured here, neither makes the
//! bytes or the API better, so neither is used (and since the full boundary neither
//! module imports anything from JS: any JS-object or web-sys binding would also bring
//! back wasm-bindgen's generated glue — for the full module's two imports, time and
//! entropy, that was 2.2 KB raw of wasm and 1.4 KB raw of script, 1.0 KB gzip):
//!
//! - **serde-wasm-bindgen** (`Serializer::json_compatible()`) for one export,
//!   `handoffRead`, returning a JS object from a `#[derive(Serialize)]` struct instead
//!   of JSON text: page module +4.9 KB raw / +2.3 KB gzip, full module +3.9 KB /
//!   +2.0 KB — the serializer and the derive's visitor code, per export. What replaces
//!   it: JSON text written field by field (`convert::Obj`) and one `JSON.parse`
//!   in the npm layer; the JS API still hands out plain objects.
//! - **web-sys** `Window::location().assign()` for the handoff redirect instead of
//!   `location.assign(url)` in the npm layer: page module +4.1 KB raw / +1.9 KB gzip
//!   of wasm (mostly `js_sys::global()`'s lookup of the global object) and +2.2 KB raw
//!   of glue, for a call that is one line of JS. The same holds for `fetch`, Web
//!   Storage and timers: what replaces them is the npm layer, which only moves bytes
//!   (the requests, the stored text and every decision come from core through this
//!   crate).
//!
//! ## What this crate does not do
//!
//! - **No logic of its own.** Every check and decision is core's; this crate converts
//!   arguments and results. If a page needs a new decision, it goes into core.
//! - **No IO.** Requests are handed to JS as values (the machines of the full build); time comes
//!   from `Date.now()` and entropy from `crypto.getRandomValues`, both drawn by the npm
//!   layer and passed with each call.
//! - **No secrets in errors.** Messages and hints come from core, which never puts a
//!   secret in them.

#![forbid(unsafe_code)]

#[cfg(not(any(feature = "handoff", feature = "device")))]
compile_error!("cliauth-wasm needs the `handoff` or the `device` feature (or `full`, the default)");

/// The full build's allocator: talc instead of std's dlmalloc, for size (see "Size").
#[cfg(all(
    target_family = "wasm",
    not(target_feature = "atomics"),
    feature = "full"
))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// The page build's allocator (EXPERIMENT).
#[cfg(all(
    target_family = "wasm",
    not(target_feature = "atomics"),
    not(feature = "full")
))]
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

mod config;
mod context;
mod convert;
#[cfg(feature = "full")]
mod credentials;
#[cfg(feature = "device")]
mod device_page;
pub mod error;
#[cfg(feature = "full")]
pub mod full_call;
#[cfg(feature = "handoff")]
mod handoff;
#[cfg(feature = "full")]
mod jwt;
#[cfg(feature = "full")]
mod keys;
#[cfg(feature = "full")]
mod machine;
pub mod page;
#[cfg(feature = "full")]
mod pkce;
mod plain;
#[cfg(feature = "full")]
mod tokens;
