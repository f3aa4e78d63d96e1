//! Fuzzes the DynamicValue decoder (msgpack and JSON) with a round-trip property.
#![no_main]

#[path = "../props.rs"]
mod props;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    props::dynamic_value_round_trip(data);
});
