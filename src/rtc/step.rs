//! The plumbing webrtc-rs asks of every interceptor (its queues, the `Protocol` and
//! `Interceptor` traits), written once: each of our interceptors is a [`PacketStep`] that
//! says only what it does with a packet, inside a [`StepInterceptor`].

use std::collections::VecDeque;
use std::time::Instant;

use rtc::interceptor::{Interceptor, StreamInfo, TaggedPacket};
use rtc::sansio::Protocol;

/// What one of our interceptors does with each packet going by: push what goes on (the
/// packet, changed or not, and any it makes) to `out`, or nothing to drop it. By default a
/// packet passes untouched either way.
pub(crate) trait PacketStep: Send + Sync + 'static {
    /// Handles one inbound packet.
    fn read(&mut self, msg: TaggedPacket, out: &mut VecDeque<TaggedPacket>) {
        out.push_back(msg);
    }

    /// Handles one outbound packet.
    fn write(&mut self, msg: TaggedPacket, out: &mut VecDeque<TaggedPacket>) {
        out.push_back(msg);
    }

    /// A stream we send was bound.
    fn bind_local(&mut self, _info: &StreamInfo) {}

    /// A stream we send was unbound.
    fn unbind_local(&mut self, _info: &StreamInfo) {}

    /// A stream we receive was bound.
    fn bind_remote(&mut self, _info: &StreamInfo) {}

    /// A stream we receive was unbound.
    fn unbind_remote(&mut self, _info: &StreamInfo) {}
}

/// An interceptor made of a [`PacketStep`].
pub(crate) struct StepInterceptor<S> {
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
    step: S,
}

impl<S: PacketStep> StepInterceptor<S> {
    /// The interceptor around `step`.
    pub(crate) fn new(step: S) -> Self {
        Self {
            read: VecDeque::new(),
            write: VecDeque::new(),
            step,
        }
    }
}

impl<S: PacketStep> Protocol<TaggedPacket, TaggedPacket, ()> for StepInterceptor<S> {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.step.read(msg, &mut self.read);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.step.write(msg, &mut self.write);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.write.pop_front()
    }
}

impl<S: PacketStep> Interceptor for StepInterceptor<S> {
    fn bind_local_stream(&mut self, info: &StreamInfo) {
        self.step.bind_local(info);
    }
    fn unbind_local_stream(&mut self, info: &StreamInfo) {
        self.step.unbind_local(info);
    }
    fn bind_remote_stream(&mut self, info: &StreamInfo) {
        self.step.bind_remote(info);
    }
    fn unbind_remote_stream(&mut self, info: &StreamInfo) {
        self.step.unbind_remote(info);
    }
}
