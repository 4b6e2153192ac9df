//! The configuration every connection is made with: its buffer sizes (octopus's own
//! exchange reads them from a ureq `Config`, whose defaults it otherwise keeps: no delay,
//! idle connections dropped after 15 s).

use ureq::Agent;
use ureq::config::Config;

use super::classify::MAX_HEAD;

/// Per-connection read buffer (ureq's default is 128 KiB in and 128 KiB out per
/// connection, a quarter of a gigabyte at a thousand connections). It is larger than
/// `MAX_HEAD`, so that a head over the limit is seen as such, not as a stalled read.
const INPUT_BUFFER: usize = MAX_HEAD + 8 * 1024;
const OUTPUT_BUFFER: usize = 16 * 1024;

/// The connections' configuration.
pub(super) fn connection_config() -> Config {
    Agent::config_builder()
        .input_buffer_size(INPUT_BUFFER)
        .output_buffer_size(OUTPUT_BUFFER)
        .build()
}
