//! Optimistic read-modify-write: read, decide, then write on the condition that
//! nothing changed since the read; when the condition fails, read again.

/// How many times a read-modify-write is tried before giving up.
const ATTEMPTS: usize = 3;

/// Runs `attempt` until it settles. `Ok(Some(value))` is the answer; `Ok(None)` means
/// its conditional write lost to a concurrent change, so it reads again; an `Err`
/// ends at once. After `ATTEMPTS` lost races the answer is `exhausted()`.
///
/// (`attempt` returns a future rather than being an async closure: the futures of
/// async closures are not yet provably `Send`, which axum handlers need.)
pub async fn until_settled<T, E, F>(mut attempt: impl FnMut() -> F, exhausted: impl FnOnce() -> E) -> Result<T, E>
where
    F: Future<Output = Result<Option<T>, E>>,
{
    for _ in 0..ATTEMPTS {
        if let Some(value) = attempt().await? {
            return Ok(value);
        }
    }
    Err(exhausted())
}

#[cfg(test)]
mod tests {
    use std::future::ready;

    use super::*;

    #[tokio::test]
    async fn a_lost_race_reads_again_and_three_lost_races_give_up() {
        let mut tries = 0;
        let won: Result<u32, &str> = until_settled(
            || {
                tries += 1;
                ready(Ok((tries == 2).then_some(7)))
            },
            || "exhausted",
        )
        .await;
        assert_eq!((won, tries), (Ok(7), 2));

        let mut tries = 0;
        let lost: Result<u32, &str> = until_settled(
            || {
                tries += 1;
                ready(Ok(None))
            },
            || "exhausted",
        )
        .await;
        assert_eq!((lost, tries), (Err("exhausted"), ATTEMPTS));

        let failed: Result<u32, &str> = until_settled(|| ready(Err("store down")), || "exhausted").await;
        assert_eq!(failed, Err("store down"));
    }
}
