//! The open-file limit: raise the soft limit so `--concurrency` sockets fit, or refuse the run
//! up front with a clear message instead of failing mid-run with "too many open files".

use rlimit::Resource;

/// File descriptors kept aside for stdin/stdout/stderr, input files, the resolver and the like.
const RESERVE: u64 = 64;

/// Make room for `concurrency` requests in flight plus idle connections in `shards` pools
/// of up to `concurrency` each. Returns how many idle connections each pool may keep
/// (fewer when the hard limit is tight, so the total never outgrows the limit).
pub fn ensure_room(concurrency: usize, shards: usize) -> Result<usize, String> {
    let c = concurrency as u64;
    let shards = shards.max(1) as u64;
    let (soft, hard) = Resource::NOFILE
        .get()
        .map_err(|e| format!("cannot read the open-file limit: {e}"))?;
    let needed = c + RESERVE;
    if hard < needed {
        return Err(format!(
            "--concurrency {concurrency} needs at least {needed} open files, but the hard limit \
             is {hard}; lower --concurrency or raise the limit (ulimit -Hn, as root)"
        ));
    }
    let wanted = (c + shards * c + RESERVE).min(hard);
    if soft < wanted {
        Resource::NOFILE.set(wanted, hard).map_err(|e| {
            format!("--concurrency {concurrency} needs {needed} open files; raising the limit from {soft} failed: {e}")
        })?;
    }
    let limit = soft.max(wanted);
    Ok((limit.saturating_sub(c + RESERVE) / shards).min(c) as usize)
}
