//! Small identifiers shared by every layer: random ids for hearings, invitations, accounts and
//! recordings, and the id of one participant's connection to a live hearing.

/// Identifies one connection of one participant to a live hearing. A reconnect gets a new id.
pub type ParticipantId = u64;

/// A random id: 128 bits as lowercase hex.
pub fn random_id() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_are_128_bit_hex_and_differ() {
        let (a, b) = (random_id(), random_id());
        assert_eq!(a.len(), 32);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, b);
    }
}
