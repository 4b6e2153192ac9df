//! `plan.rs`, step by step: each test a snapshot of the engine and the plan for it.

use std::time::Duration;

use super::*;

/// One worker running, nothing waiting, a concurrency of 100, 4 may run.
fn calm() -> Snapshot {
    Snapshot {
        workers: 1,
        idle: 0,
        timing: 0,
        timekeeper: None,
        poller: None,
        blocked: 0,
        tasks: 0,
        ready: 0,
        in_set: false,
        next_timer: None,
        concurrency: 100,
        runnable: 4,
    }
}

fn polling(until: Option<Instant>) -> Option<Poller> {
    Some(Poller {
        until,
        woken: false,
    })
}

#[test]
fn nothing_waiting_wakes_and_starts_no_one() {
    assert_eq!(plan(&calm()), Plan::default());
    let idle = Snapshot {
        idle: 3,
        workers: 4,
        ..calm()
    };
    assert_eq!(plan(&idle), Plan::default());
}

#[test]
fn a_running_worker_is_left_its_share_before_anyone_is_woken() {
    let busy = Snapshot {
        idle: 1,
        workers: 2,
        tasks: READY_PER_WORKER,
        ..calm()
    };
    assert_eq!(plan(&busy), Plan::default());
    let more = Snapshot {
        tasks: 10,
        ready: READY_PER_WORKER - 9,
        ..busy
    };
    let woken = plan(&more);
    assert_eq!(woken.for_work, Some(Wake::Idle));
    // One unattended task, and an idle worker for it: none started.
    assert_eq!(woken.start, 0);
}

#[test]
fn with_no_one_running_every_task_is_unattended() {
    // The only worker polls: a task wakes it (once) and one more worker starts.
    let s = Snapshot {
        poller: polling(None),
        tasks: 2,
        ..calm()
    };
    assert_eq!(
        plan(&s),
        Plan {
            for_work: Some(Wake::Poller),
            for_timer: None,
            start: 1
        }
    );
    // A poller already told is not told again.
    let told = Snapshot {
        poller: Some(Poller {
            until: None,
            woken: true,
        }),
        ..s
    };
    assert_eq!(plan(&told).for_work, None);
    assert_eq!(plan(&told).start, 1);
}

#[test]
fn the_timekeeper_is_woken_for_work_when_no_worker_is_idle() {
    let later = Instant::now() + Duration::from_secs(5);
    let s = Snapshot {
        timing: 1,
        timekeeper: Some(later),
        tasks: 1,
        ..calm()
    };
    assert_eq!(plan(&s).for_work, Some(Wake::Timekeeper));
}

#[test]
fn workers_start_in_batches_up_to_what_may_run_and_the_concurrency() {
    // 100 tasks, all workers blocked: a batch starts.
    let blocked = Snapshot {
        workers: 4,
        blocked: 4,
        tasks: 100,
        ..calm()
    };
    assert_eq!(plan(&blocked).start, SPAWN_BATCH.min(4));
    let wide = Snapshot {
        runnable: 64,
        ..blocked
    };
    assert_eq!(plan(&wide).start, SPAWN_BATCH);
    // Never past the concurrency.
    let full = Snapshot {
        concurrency: 6,
        ..wide
    };
    assert_eq!(plan(&full).start, 2);
    // Running workers count against what may run; blocked ones do not.
    let running = Snapshot {
        workers: 4,
        blocked: 0,
        tasks: 1000,
        runnable: 4,
        ..calm()
    };
    assert_eq!(plan(&running).start, 0);
}

#[test]
fn idle_workers_and_the_poller_are_counted_before_starting_more() {
    let s = Snapshot {
        workers: 3,
        idle: 2,
        poller: polling(None),
        tasks: 5,
        ..calm()
    };
    // Nobody runs: 5 unattended, 2 idle and the poller take 3 of them.
    assert_eq!(
        plan(&s),
        Plan {
            for_work: Some(Wake::Idle),
            for_timer: None,
            start: 1
        }
    );
}

#[test]
fn requests_in_the_set_with_no_one_to_poll_get_a_worker() {
    let s = Snapshot {
        workers: 1,
        idle: 1,
        in_set: true,
        ..calm()
    };
    assert_eq!(plan(&s).for_work, Some(Wake::Idle));
    // All workers blocked: one starts to poll.
    let blocked = Snapshot {
        workers: 2,
        blocked: 2,
        in_set: true,
        ..calm()
    };
    assert_eq!(plan(&blocked).start, 1);
    // Someone runs: it will poll.
    let running = Snapshot {
        in_set: true,
        ..calm()
    };
    assert_eq!(plan(&running), Plan::default());
    // Someone polls already.
    let polled = Snapshot {
        poller: polling(None),
        in_set: true,
        ..calm()
    };
    assert_eq!(plan(&polled), Plan::default());
}

#[test]
fn the_earliest_timer_is_kept_by_whoever_waits_no_later() {
    let now = Instant::now();
    let soon = now + Duration::from_millis(10);
    let later = now + Duration::from_secs(1);
    let timer = Snapshot {
        next_timer: Some(soon),
        ..calm()
    };
    // Nobody waits: the running worker finds it when it runs out of tasks.
    assert_eq!(plan(&timer).for_timer, None);
    let kept = Snapshot {
        timing: 1,
        timekeeper: Some(soon),
        ..timer
    };
    assert_eq!(plan(&kept).for_timer, None);
    let late = Snapshot {
        timing: 1,
        timekeeper: Some(later),
        ..timer
    };
    assert_eq!(plan(&late).for_timer, Some(Wake::Timekeeper));
    let idle = Snapshot {
        idle: 1,
        workers: 2,
        ..timer
    };
    assert_eq!(plan(&idle).for_timer, Some(Wake::Idle));
    let poll_kept = Snapshot {
        poller: polling(Some(soon)),
        ..timer
    };
    assert_eq!(plan(&poll_kept).for_timer, None);
    let poll_late = Snapshot {
        poller: polling(Some(later)),
        ..timer
    };
    assert_eq!(plan(&poll_late).for_timer, Some(Wake::Poller));
    let poll_open = Snapshot {
        poller: polling(None),
        ..timer
    };
    assert_eq!(plan(&poll_open).for_timer, Some(Wake::Poller));
}

#[test]
fn the_poller_is_told_once_for_work_and_timer_together() {
    let later = Instant::now() + Duration::from_secs(1);
    let s = Snapshot {
        poller: polling(Some(later)),
        tasks: 1,
        next_timer: Some(Instant::now()),
        ..calm()
    };
    let planned = plan(&s);
    assert_eq!(planned.for_work, Some(Wake::Poller));
    assert_eq!(planned.for_timer, None);
}

#[test]
fn a_worker_about_to_block_hands_over_only_what_it_would_have_done() {
    assert!(!hand_over(0, false, false));
    assert!(hand_over(1, true, true));
    assert!(hand_over(0, false, true));
    assert!(!hand_over(0, true, true));
}
