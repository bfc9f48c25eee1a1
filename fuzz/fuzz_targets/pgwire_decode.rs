//! Backend messages and SCRAM server messages never panic the client.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_pgwire::{message, scram};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Some((_, used))) = message::decode(rest) {
        rest = &rest[used..];
    }
    let s = scram::Scram::new(&[1; 18]);
    if let Ok(first) = s.server_first(data) {
        let salted = scram::salted_password(b"pw", &first.salt, first.iterations.min(16));
        let (_, fin) = s.client_final(&first, &salted);
        let _ = fin.verify(data);
    }
});
