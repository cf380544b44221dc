//! Fuzzes `diffuscope::fuzzing::idx` (see src/fuzzing.rs): it must never panic or allocate without bound.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| diffuscope::fuzzing::idx(data));
