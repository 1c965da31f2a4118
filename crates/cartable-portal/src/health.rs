//! Per-portlet health lives in the container ([`cartable_container::Health`]).

pub use cartable_container::Availability;
