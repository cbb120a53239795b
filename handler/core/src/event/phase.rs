//! Where a run is, from its status: the one classification that filter names, message tones and
//! a deployment's living message all follow.

use super::payload::Status;

/// The phase of an update, preview, deployment or drift run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Not started yet: `not-started`, `queued`, `accepted`.
    Waiting,
    /// `running`, `in-progress`.
    Running,
    Succeeded,
    Failed,
    /// Ended without a result: `cancelled`, `skipped`.
    Stopped,
    /// A status Pulumi added after this relay was written.
    Unknown,
}

impl Phase {
    pub fn of(status: &Status) -> Phase {
        match status {
            Status::NotStarted | Status::Queued | Status::Accepted => Phase::Waiting,
            Status::Running | Status::InProgress => Phase::Running,
            Status::Succeeded => Phase::Succeeded,
            Status::Failed => Phase::Failed,
            Status::Cancelled | Status::Skipped => Phase::Stopped,
            Status::Other(_) => Phase::Unknown,
        }
    }

    /// How far along a run is: a living message never goes back to a lower order. A run without
    /// a status has not started; an unknown status is taken as still running, so that it neither
    /// overwrites a result nor is overwritten by a `queued` that arrives late.
    pub fn order(status: Option<&Status>) -> u8 {
        match status.map(Phase::of) {
            None | Some(Phase::Waiting) => 1,
            Some(Phase::Running | Phase::Unknown) => 2,
            Some(Phase::Succeeded | Phase::Failed | Phase::Stopped) => 3,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_only_moves_forward() {
        let order = [Status::Queued, Status::Running, Status::Succeeded];
        let orders: Vec<u8> = order.iter().map(|s| Phase::order(Some(s))).collect();
        assert!(orders.windows(2).all(|w| w[0] < w[1]), "{orders:?}");
        assert_eq!(
            Phase::order(Some(&Status::Failed)),
            Phase::order(Some(&Status::Succeeded))
        );
        assert_eq!(Phase::order(None), Phase::order(Some(&Status::Queued)));
    }

    #[test]
    fn every_status_has_its_phase() {
        assert_eq!(Phase::of(&Status::Accepted), Phase::Waiting);
        assert_eq!(Phase::of(&Status::InProgress), Phase::Running);
        assert_eq!(Phase::of(&Status::Skipped), Phase::Stopped);
        assert_eq!(Phase::of(&Status::from("exploded")), Phase::Unknown);
    }
}
