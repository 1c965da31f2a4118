//! The circuit breaker: stop calling a remote portlet that keeps failing, for a while.
//!
//! The consumer keeps one breaker per remote portlet (per portlet id of a producer), so a
//! portlet that hangs or fails does not turn off the other portlets of its producer.
//!
//! **Closed**: calls go through; `failures_before_open` failures in a row open it.
//! **Open**: no call for `open_seconds`; renders show the fallback at once.
//! **Half-open**: after that, one call goes through as a probe (the others still get the
//! fallback); its success closes the breaker, its failure opens it again.
//!
//! Time is passed in (`now`), so the tests move it without sleeping.

use std::time::{Duration, Instant};

/// Whether a call may go to the producer for this portlet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permit {
    /// Yes (breaker closed).
    Call,
    /// Yes, as the one probe of a half-open breaker.
    Probe,
    /// No: the portlet is considered down for about this long still.
    Refuse(Duration),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { since: Instant },
}

/// One remote portlet's breaker.
#[derive(Debug, Clone)]
pub struct Breaker {
    threshold: u32,
    open_for: Duration,
    state: State,
}

impl Breaker {
    /// Opens after `threshold` failures in a row (at least 1), for `open_for`.
    pub fn new(threshold: u32, open_for: Duration) -> Self {
        Breaker {
            threshold: threshold.max(1),
            open_for,
            state: State::Closed { failures: 0 },
        }
    }

    /// Ask before calling.
    pub fn permit(&mut self, now: Instant) -> Permit {
        match self.state {
            State::Closed { .. } => Permit::Call,
            State::Open { until } if now >= until => {
                self.state = State::HalfOpen { since: now };
                Permit::Probe
            }
            State::Open { until } => Permit::Refuse(until - now),
            // A probe that never reported (its task was cancelled by a deadline) does not
            // keep the breaker half-open forever: after another period, probe again.
            State::HalfOpen { since } if now >= since + self.open_for => {
                self.state = State::HalfOpen { since: now };
                Permit::Probe
            }
            State::HalfOpen { since } => Permit::Refuse(since + self.open_for - now),
        }
    }

    /// The producer answered for the portlet (even with a 4xx: it is alive).
    pub fn success(&mut self) {
        self.state = State::Closed { failures: 0 };
    }

    /// The producer did not answer for the portlet, or answered 5xx or garbage.
    pub fn failure(&mut self, now: Instant) {
        self.state = match self.state {
            State::Closed { failures } if failures + 1 < self.threshold => State::Closed {
                failures: failures + 1,
            },
            State::Closed { .. } | State::HalfOpen { .. } => State::Open {
                until: now + self.open_for,
            },
            open @ State::Open { .. } => open,
        };
    }

    /// Whether calls are refused right now (for status pages).
    pub fn is_open(&self, now: Instant) -> bool {
        match self.state {
            State::Closed { .. } => false,
            State::Open { until } => now < until,
            State::HalfOpen { .. } => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_repeated_failures_and_probes_later() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut b = Breaker::new(3, Duration::from_secs(30));
        b.failure(t0);
        b.failure(t0);
        assert_eq!(b.permit(t0), Permit::Call, "two failures: still closed");
        b.failure(t0);
        assert_eq!(b.permit(t0 + s), Permit::Refuse(Duration::from_secs(29)));
        assert!(b.is_open(t0 + s));
        let later = t0 + Duration::from_secs(30);
        assert_eq!(b.permit(later), Permit::Probe);
        assert!(
            matches!(b.permit(later), Permit::Refuse(_)),
            "one probe at a time"
        );
        b.failure(later);
        assert!(
            matches!(b.permit(later + s), Permit::Refuse(_)),
            "probe failed: open again"
        );
        let again = later + Duration::from_secs(30);
        assert_eq!(b.permit(again), Permit::Probe);
        b.success();
        assert_eq!(b.permit(again), Permit::Call);
        assert!(!b.is_open(again));
    }

    #[test]
    fn a_success_resets_the_count() {
        let t0 = Instant::now();
        let mut b = Breaker::new(2, Duration::from_secs(5));
        b.failure(t0);
        b.success();
        b.failure(t0);
        assert_eq!(b.permit(t0), Permit::Call);
        b.failure(t0);
        assert!(matches!(b.permit(t0), Permit::Refuse(_)));
    }

    #[test]
    fn a_lost_probe_does_not_block_forever() {
        let t0 = Instant::now();
        let mut b = Breaker::new(1, Duration::from_secs(5));
        b.failure(t0);
        let t1 = t0 + Duration::from_secs(5);
        assert_eq!(b.permit(t1), Permit::Probe);
        // The probe's task was cancelled: no report.
        assert!(matches!(
            b.permit(t1 + Duration::from_secs(4)),
            Permit::Refuse(_)
        ));
        assert_eq!(b.permit(t1 + Duration::from_secs(5)), Permit::Probe);
    }
}
