//! Checks of the [`Storage`] contract, for the tests of a store. Each panics, naming the
//! broken guarantee, when the store breaks it. The SDK's own stores (memory, file, Redis)
//! run them in their tests.
//!
//! ```
//! use logto_store::{conformance, MemoryStore};
//! conformance::compare_and_swap(&MemoryStore::new(), "doc:");
//! conformance::concurrent_increments(&[MemoryStore::new()], "doc:", 4, 10);
//! ```

use crate::contract::{AsyncStorage, Expected, Storage};

/// The compare-and-swap rules on keys starting with `prefix` (left deleted): each
/// expectation writes exactly when it holds, a delete is a write, and a read returns the
/// last write.
pub fn compare_and_swap(store: &dyn Storage, prefix: &str) {
    let key = format!("{prefix}conformance-swap");
    let read = |what: &str| {
        store
            .get(&key)
            .unwrap_or_else(|e| panic!("{what}: get: {e}"))
    };
    let swap = |expected, new| {
        store
            .compare_and_swap(&key, expected, new)
            .unwrap_or_else(|e| panic!("compare_and_swap: {e}"))
    };
    assert!(swap(Expected::Any, None), "an unconditional delete writes");
    assert_eq!(read("after a delete"), None);
    assert!(
        !swap(Expected::Value("v0"), Some("v1")),
        "no value to match"
    );
    assert!(
        swap(Expected::Absent, Some("v1")),
        "absent, and expected so"
    );
    assert!(
        !swap(Expected::Absent, Some("v2")),
        "present, expected absent"
    );
    assert!(!swap(Expected::Value("other"), Some("v2")), "another value");
    assert_eq!(read("after refused writes").as_deref(), Some("v1"));
    assert!(
        swap(Expected::Value("v1"), Some("v2")),
        "the expected value"
    );
    assert_eq!(read("after a write").as_deref(), Some("v2"));
    assert!(swap(Expected::Any, Some("v3")), "an unconditional write");
    assert!(
        swap(Expected::Value("v3"), None),
        "a delete of the expected value"
    );
    assert_eq!(read("after the last delete"), None);
}

/// [`compare_and_swap`] through the async contract; `prefix` as there.
pub async fn async_compare_and_swap(store: &dyn AsyncStorage, prefix: &str) {
    let key = format!("{prefix}conformance-async-swap");
    let swap = |expected, new| store.compare_and_swap(&key, expected, new);
    assert!(swap(Expected::Any, None).await.unwrap());
    assert!(swap(Expected::Absent, Some("v1")).await.unwrap());
    assert!(!swap(Expected::Absent, Some("v2")).await.unwrap());
    assert!(!swap(Expected::Value("other"), Some("v2")).await.unwrap());
    assert!(swap(Expected::Value("v1"), Some("v2")).await.unwrap());
    assert_eq!(store.get(&key).await.unwrap().as_deref(), Some("v2"));
    assert!(swap(Expected::Value("v2"), None).await.unwrap());
    assert_eq!(store.get(&key).await.unwrap(), None);
}

/// `threads` threads, spread over `stores` (handles of one store, or of several processes'
/// views of it), each add 1 to a counter `rounds` times by read and compare-and-swap,
/// retrying on a conflict: no increment is lost. Returns how many conflicts there were.
pub fn concurrent_increments<S: Storage + Clone + 'static>(
    stores: &[S],
    prefix: &str,
    threads: usize,
    rounds: usize,
) -> usize {
    let key = format!("{prefix}conformance-counter");
    assert!(stores[0]
        .compare_and_swap(&key, Expected::Any, None)
        .unwrap());
    let barrier = std::sync::Barrier::new(threads);
    let conflicts: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let (store, barrier, key) = (&stores[i % stores.len()], &barrier, &key);
                scope.spawn(move || {
                    barrier.wait();
                    let mut conflicts = 0;
                    for _ in 0..rounds {
                        loop {
                            let current = store.get(key).unwrap();
                            let n: usize = current.as_deref().map_or(0, |v| v.parse().unwrap());
                            let next = (n + 1).to_string();
                            let expected = Expected::from(current.as_deref());
                            if store.compare_and_swap(key, expected, Some(&next)).unwrap() {
                                break;
                            }
                            conflicts += 1;
                        }
                    }
                    conflicts
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let total = stores[0].get(&key).unwrap();
    assert_eq!(
        total,
        Some((threads * rounds).to_string()),
        "increments lost after {conflicts} conflicts"
    );
    conflicts
}
