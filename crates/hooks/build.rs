//! Encodes `data/disposable_domains.txt` compactly for the Wasm module: each domain reversed
//! (`moc.rotanilam`), sorted, front-coded in blocks of `BLOCK` entries, with a table of block
//! offsets. Lookup binary-searches block heads, then decodes at most one block.

// A build script reports bad input by failing the build, which is what these lints forbid
// elsewhere.
#![allow(clippy::panic, clippy::expect_used, clippy::indexing_slicing)]

use std::{env, fs, path::PathBuf};

const BLOCK: usize = 16;

fn main() {
    let src = "data/disposable_domains.txt";
    println!("cargo::rerun-if-changed={src}");
    let text = fs::read_to_string(src).unwrap_or_else(|e| panic!("reading {src}: {e}"));
    let mut keys: Vec<Vec<u8>> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let ok = !line.is_empty()
            && line.len() < 256
            && line
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        assert!(
            ok,
            "{src}:{}: not a lowercase ASCII domain: {line:?}",
            n + 1
        );
        keys.push(line.bytes().rev().collect());
    }
    keys.sort();
    keys.dedup();
    let mut blob = Vec::new();
    let mut index = Vec::new();
    for block in keys.chunks(BLOCK) {
        index.extend_from_slice(
            &u32::try_from(blob.len())
                .expect("blob fits u32")
                .to_le_bytes(),
        );
        let mut prev: &[u8] = &[];
        for key in block {
            let shared = prev
                .iter()
                .zip(key.iter())
                .take_while(|(a, b)| a == b)
                .count()
                .min(255);
            blob.push(u8::try_from(shared).expect("shared < 256"));
            blob.push(u8::try_from(key.len() - shared).expect("domain < 256 bytes"));
            blob.extend_from_slice(&key[shared..]);
            prev = key;
        }
    }
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    fs::write(out.join("disposable.bin"), &blob).expect("write blob");
    fs::write(out.join("disposable.idx"), &index).expect("write index");
    fs::write(out.join("disposable.count"), keys.len().to_string()).expect("write count");
}
