//! Reading and rewriting wasm modules: function sizes for the size benchmark, and
//! snipping (replacing function bodies with `unreachable`) for the build.

use std::collections::HashMap;

fn leb(b: &[u8], i: &mut usize) -> Result<u64, String> {
    let (mut r, mut shift) = (0u64, 0);
    loop {
        let x = *b.get(*i).ok_or("truncated LEB128")?;
        *i += 1;
        r |= u64::from(x & 0x7f) << shift;
        if x < 0x80 {
            return Ok(r);
        }
        shift += 7;
        if shift > 63 {
            return Err("LEB128 too long".into());
        }
    }
}

fn slice(b: &[u8], start: usize, len: u64) -> Result<&[u8], String> {
    let end = start
        .checked_add(usize::try_from(len).map_err(|e| e.to_string())?)
        .ok_or("overflow")?;
    b.get(start..end)
        .ok_or_else(|| "section out of bounds".to_string())
}

/// A module's functions (`(size, name)`, largest first) and data bytes.
pub(crate) struct Module {
    pub(crate) functions: Vec<(u64, String)>,
    pub(crate) data: u64,
}

/// A section: its id, the whole section (id and size included) and its body.
type Section<'a> = (u8, &'a [u8], &'a [u8]);

/// What the size analysis and the snipping need: the number of imported functions,
/// the function names, the code section and the data section's size.
type Parts<'a> = (u64, HashMap<u64, String>, Option<&'a [u8]>, u64);

/// The sections of a module.
fn sections(wasm: &[u8]) -> Result<Vec<Section<'_>>, String> {
    if wasm.get(..4) != Some(b"\0asm") {
        return Err("not a wasm module".into());
    }
    let mut i = 8;
    let mut out = Vec::new();
    while i < wasm.len() {
        let start = i;
        let id = wasm[i];
        i += 1;
        let size = leb(wasm, &mut i)?;
        let body = slice(wasm, i, size)?;
        i += body.len();
        out.push((id, &wasm[start..i], body));
    }
    Ok(out)
}

/// How many functions the import section declares (they come first in the index space).
fn imported_functions(body: &[u8]) -> Result<u64, String> {
    let mut k = 0;
    let mut imported = 0;
    for _ in 0..leb(body, &mut k)? {
        for _ in 0..2 {
            let l = leb(body, &mut k)?;
            k += usize::try_from(l).map_err(|e| e.to_string())?;
        }
        let kind = *body.get(k).ok_or("truncated import")?;
        k += 1;
        match kind {
            0 => {
                leb(body, &mut k)?;
                imported += 1;
            }
            1 => {
                k += 1;
                let flags = *body.get(k).ok_or("truncated table")?;
                k += 1;
                leb(body, &mut k)?;
                if flags & 1 == 1 {
                    leb(body, &mut k)?;
                }
            }
            2 => {
                let flags = *body.get(k).ok_or("truncated memory")?;
                k += 1;
                leb(body, &mut k)?;
                if flags & 1 == 1 {
                    leb(body, &mut k)?;
                }
            }
            3 | 4 => k += 2,
            _ => return Err(format!("unknown import kind {kind}")),
        }
    }
    Ok(imported)
}

/// Function names from a `name` custom section's body, by function index.
fn function_names(body: &[u8]) -> Result<HashMap<u64, String>, String> {
    let mut names = HashMap::new();
    let mut k = 0;
    let l = leb(body, &mut k)?;
    let section = slice(body, k, l)?;
    k += section.len();
    if section != b"name" {
        return Ok(names);
    }
    while k < body.len() {
        let sub = body[k];
        k += 1;
        let len = leb(body, &mut k)?;
        let data = slice(body, k, len)?;
        k += data.len();
        if sub == 1 {
            let mut j = 0;
            for _ in 0..leb(data, &mut j)? {
                let index = leb(data, &mut j)?;
                let l = leb(data, &mut j)?;
                let n = slice(data, j, l)?;
                j += n.len();
                names.insert(index, String::from_utf8_lossy(n).into_owned());
            }
        }
    }
    Ok(names)
}

/// The function bodies of a code section.
fn bodies(code: &[u8]) -> Result<Vec<&[u8]>, String> {
    let mut k = 0;
    let mut out = Vec::new();
    for _ in 0..leb(code, &mut k)? {
        let size = leb(code, &mut k)?;
        let body = slice(code, k, size)?;
        k += body.len();
        out.push(body);
    }
    Ok(out)
}

/// Imported function count, names and the code section of a module.
fn parts(wasm: &[u8]) -> Result<Parts<'_>, String> {
    let (mut imported, mut names, mut code, mut data) = (0, HashMap::new(), None, 0);
    for (id, _, body) in sections(wasm)? {
        match id {
            2 => imported = imported_functions(body)?,
            10 => code = Some(body),
            11 => data = body.len() as u64,
            0 => names.extend(function_names(body)?),
            _ => {}
        }
    }
    Ok((imported, names, code, data))
}

/// Reads the code, data and `name` sections.
pub(crate) fn analyse(wasm: &[u8]) -> Result<Module, String> {
    let (imported, mut names, code, data) = parts(wasm)?;
    let code = code.ok_or("no code section")?;
    let mut out = Vec::new();
    for (f, body) in bodies(code)?.into_iter().enumerate() {
        let index = imported + f as u64;
        let name = names
            .remove(&index)
            .unwrap_or_else(|| format!("function[{index}]"));
        out.push((body.len() as u64, demangle(&name)));
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.0));
    Ok(Module {
        functions: out,
        data,
    })
}

fn push_leb(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// Replaces the body of every function whose (demangled) name `snip` selects with a
/// single `unreachable`, like `wasm-snip`; a later `wasm-opt` pass then drops
/// whatever only those bodies reached. Returns the module and the names snipped.
pub(crate) fn snip(
    wasm: &[u8],
    snip: impl Fn(&str) -> bool,
) -> Result<(Vec<u8>, Vec<String>), String> {
    let (imported, names, _, _) = parts(wasm)?;
    let mut out = wasm[..8].to_vec();
    let mut snipped = Vec::new();
    for (id, whole, body) in sections(wasm)? {
        if id != 10 {
            out.extend_from_slice(whole);
            continue;
        }
        let mut code = Vec::new();
        let functions = bodies(body)?;
        push_leb(&mut code, functions.len() as u64);
        for (f, fbody) in functions.into_iter().enumerate() {
            let name = names
                .get(&(imported + f as u64))
                .map(|n| demangle(n))
                .unwrap_or_default();
            if !name.is_empty() && snip(&name) {
                // No locals; `unreachable`; `end`.
                code.extend_from_slice(&[3, 0, 0x00, 0x0b]);
                snipped.push(name);
            } else {
                push_leb(&mut code, fbody.len() as u64);
                code.extend_from_slice(fbody);
            }
        }
        out.push(10);
        push_leb(&mut out, code.len() as u64);
        out.extend_from_slice(&code);
    }
    Ok((out, snipped))
}

/// Drops hashes from legacy-mangled names (`…::h0123456789abcdef`, `[c5930c85]`).
fn demangle(name: &str) -> String {
    let mut s = name.to_string();
    if let Some(at) = s.rfind("::h")
        && s.len() - at == 19
    {
        s.truncate(at);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '[' {
            let rest: String = chars.clone().take_while(|&c| c != ']').collect();
            if !rest.is_empty() && rest.chars().all(|c| c.is_ascii_hexdigit()) {
                for _ in 0..=rest.len() {
                    chars.next();
                }
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// The crate a function belongs to: the first path segment, looking through
/// `<T as Trait>`; the shims wasm-bindgen generates for exports (which inline the
/// exported function) are their own group.
pub(crate) fn crate_of(name: &str) -> String {
    let n = name.trim_start_matches('<').trim_start_matches('&');
    if name.contains(" shim") {
        return "exports (wasm-bindgen shims)".into();
    }
    if !n.contains("::") {
        return "other".into();
    }
    let first = n.split("::").next().unwrap_or(n);
    let first = first.rsplit(' ').next().unwrap_or(first);
    match first {
        "core" | "alloc" | "std" | "__rustc" => "std (core/alloc)".into(),
        other => other.to_string(),
    }
}
