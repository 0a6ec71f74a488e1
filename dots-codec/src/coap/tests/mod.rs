//! Tests of the CoAP codec.
