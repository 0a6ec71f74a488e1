//! Tests of the CoAP codec: RFC example messages as golden bytes, one test per error case,
//! typed options, and property tests.

mod errors;
mod options;
mod rfc7252;
mod rfc8323;
mod roundtrip;
