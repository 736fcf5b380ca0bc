//! What a hearing does when one of its media pipelines fails ([`MediaEvent`]): a failed
//! decoder is rebuilt, its sender asked for a keyframe (through their feed, which the network
//! task turns into a picture loss indication) and told (`HearingEvent::MediaTrouble`); a failed
//! encoder is rebuilt and asked for a keyframe. Each failure is shown in the clerk's monitor.
//! A pipeline that fails again and again is left stopped: [`MAX_RESTARTS`] within
//! [`RESTART_WINDOW`].
//!
//! Runs on the hearing's one media-repair thread ([`super::workers`]), so rebuilding a pipeline
//! never happens on a GStreamer streaming thread or a network task.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::events::{EventChannel, HearingEvent, MediaAction, MediaNotice};
use super::feeds::{Feeds, Restart};
use super::monitor::{MediaIncident, Monitor};
use super::output::Output;
use crate::media::events::{MediaEvent, MediaSource};

/// Restarts of one pipeline allowed within [`RESTART_WINDOW`] before it is left stopped.
pub const MAX_RESTARTS: usize = 5;
/// See [`MAX_RESTARTS`].
pub const RESTART_WINDOW: Duration = Duration::from_secs(60);

/// Which pipeline, for counting restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Pipeline {
    Feed(u64),
    Encoder,
}

/// Reacts to media events of one hearing.
pub struct MediaRepair {
    hearing: String,
    seat_ids: Vec<String>,
    feeds: Arc<Feeds>,
    output: Arc<Output>,
    monitor: Arc<Monitor>,
    events: EventChannel,
    restarts: HashMap<Pipeline, VecDeque<Instant>>,
}

impl MediaRepair {
    /// Repairs for hearing `hearing`, whose seats have ids `seat_ids`.
    pub fn new(
        hearing: &str,
        seat_ids: Vec<String>,
        feeds: Arc<Feeds>,
        output: Arc<Output>,
        monitor: Arc<Monitor>,
        events: EventChannel,
    ) -> Self {
        Self {
            hearing: hearing.to_owned(),
            seat_ids,
            feeds,
            output,
            monitor,
            events,
            restarts: HashMap::new(),
        }
    }

    /// Whether `pipeline` may be restarted now (and counts the restart if so).
    fn may_restart(&mut self, pipeline: Pipeline, now: Instant) -> bool {
        let times = self.restarts.entry(pipeline).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) > RESTART_WINDOW)
        {
            times.pop_front();
        }
        if times.len() >= MAX_RESTARTS {
            return false;
        }
        times.push_back(now);
        true
    }

    /// Handles one event.
    pub fn handle(&mut self, event: MediaEvent) {
        let now = Instant::now();
        let error = event.problem.to_string();
        match event.source {
            MediaSource::Decoder {
                feed,
                seat,
                participant,
                track,
                generation,
            } => {
                if !self.feeds.is_current(feed, generation) {
                    // A late event of a decoder already replaced, or of a track that ended.
                    return;
                }
                tracing::warn!(hearing = %self.hearing, participant, seat, %track, "decoder failed: {error}");
                let action = if self.may_restart(Pipeline::Feed(feed), now) {
                    match self.feeds.restart(feed, generation) {
                        Ok(Restart::Restarted) => MediaAction::Restarted,
                        // The track ended meanwhile.
                        Ok(Restart::Stale) => return,
                        Err(e) => {
                            tracing::error!(hearing = %self.hearing, participant, "cannot rebuild the {track} decoder: {e}");
                            MediaAction::GaveUp
                        }
                    }
                } else {
                    tracing::error!(hearing = %self.hearing, participant, "the {track} decoder keeps failing; left stopped");
                    MediaAction::GaveUp
                };
                self.monitor.note_media(MediaIncident {
                    at: chrono::Utc::now().timestamp(),
                    pipeline: track.as_str(),
                    seat: self.seat_ids.get(seat).cloned(),
                    participant_id: Some(participant),
                    error,
                    action: action.as_str(),
                });
                self.events.send(HearingEvent::MediaTrouble(MediaNotice {
                    seat,
                    participant,
                    track,
                    action,
                }));
            }
            MediaSource::Encoder { generation } => {
                if self.output.generation() != generation {
                    return;
                }
                tracing::error!(hearing = %self.hearing, "encoder failed: {error}");
                let action = if self.may_restart(Pipeline::Encoder, now) {
                    match self.output.restart(generation) {
                        Ok(true) => MediaAction::Restarted,
                        Ok(false) => return,
                        Err(e) => {
                            tracing::error!(hearing = %self.hearing, "cannot rebuild the encoder: {e}");
                            MediaAction::GaveUp
                        }
                    }
                } else {
                    MediaAction::GaveUp
                };
                self.monitor.note_media(MediaIncident {
                    at: chrono::Utc::now().timestamp(),
                    pipeline: "encoder",
                    seat: None,
                    participant_id: None,
                    error,
                    action: action.as_str(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hearing::output::small_for_tests;
    use crate::media::events::MediaProblem;

    #[test]
    fn a_failed_encoder_is_rebuilt_until_it_fails_too_often() {
        let events = EventChannel::default();
        let monitor = Arc::new(Monitor::new("h", 64, 48));
        let output = small_for_tests(&events, monitor.clone());
        let feeds = Feeds::new("h", Arc::new(|_| {}));
        let mut repair = MediaRepair::new(
            "h",
            vec!["judge".into()],
            feeds,
            output.clone(),
            monitor.clone(),
            events,
        );
        let failure = |generation| MediaEvent {
            source: MediaSource::Encoder { generation },
            problem: MediaProblem::Failed("x264 fell over".into()),
        };
        for restarts in 1..=MAX_RESTARTS as u64 {
            repair.handle(failure(output.generation()));
            assert_eq!(output.generation(), restarts, "rebuilt");
        }
        // A late event of a build already replaced changes nothing.
        repair.handle(failure(0));
        assert_eq!(monitor.media().incidents.len(), MAX_RESTARTS);
        // One more failure within the window: left stopped.
        repair.handle(failure(output.generation()));
        assert_eq!(output.generation(), MAX_RESTARTS as u64);
        let log = monitor.media();
        assert_eq!(log.restarts, MAX_RESTARTS as u64);
        let last = log.incidents.back().unwrap();
        assert_eq!((last.pipeline, last.action), ("encoder", "stopped"));
        // The rebuilt encoder encodes.
        let mut frames = output.subscribe();
        output
            .push(vec![128; 64 * 48 * 3 / 2], Duration::ZERO)
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match frames.try_recv() {
                Ok(f) => break assert!(f.keyframe),
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Err(e) => panic!("no frame from the rebuilt encoder: {e}"),
            }
        }
    }
}
