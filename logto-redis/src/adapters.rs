//! The adapters' `Storage` traits, each a thin call of the store's one implementation.

#[cfg(feature = "ureq")]
impl logto_ureq::Storage for crate::RedisStore {
    fn get(&self, key: &str) -> Result<Option<String>, logto_proto::StorageError> {
        self.get_value(key)
    }

    fn set(&self, key: &str, value: &str) -> Result<(), logto_proto::StorageError> {
        self.swap(key, None, Some(value)).map(drop)
    }

    fn delete(&self, key: &str) -> Result<(), logto_proto::StorageError> {
        self.swap(key, None, None).map(drop)
    }

    /// Atomic on the server (one Lua script).
    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&str>,
        new: Option<&str>,
    ) -> Result<bool, logto_proto::StorageError> {
        self.swap(key, Some(expected), new)
    }
}

#[cfg(feature = "isahc")]
mod isahc {
    use crate::RedisStore;
    use logto_isahc::{Storage, StorageFuture};

    /// Runs a blocking store operation on the blocking thread pool (never on the executor).
    fn unblock<'a, T: Send + 'static>(
        store: &RedisStore,
        operation: impl FnOnce(RedisStore) -> Result<T, logto_proto::StorageError> + Send + 'static,
    ) -> StorageFuture<'a, T> {
        let store = store.clone();
        Box::pin(blocking::unblock(move || operation(store)))
    }

    impl Storage for RedisStore {
        fn get<'a>(&'a self, key: &'a str) -> StorageFuture<'a, Option<String>> {
            let key = key.to_owned();
            unblock(self, move |store| store.get_value(&key))
        }

        fn set<'a>(&'a self, key: &'a str, value: &'a str) -> StorageFuture<'a, ()> {
            let (key, value) = (key.to_owned(), value.to_owned());
            unblock(self, move |store| {
                store.swap(&key, None, Some(&value)).map(drop)
            })
        }

        fn delete<'a>(&'a self, key: &'a str) -> StorageFuture<'a, ()> {
            let key = key.to_owned();
            unblock(self, move |store| store.swap(&key, None, None).map(drop))
        }

        /// Atomic on the server (one Lua script).
        fn compare_and_swap<'a>(
            &'a self,
            key: &'a str,
            expected: Option<&'a str>,
            new: Option<&'a str>,
        ) -> StorageFuture<'a, bool> {
            let key = key.to_owned();
            let (expected, new) = (expected.map(str::to_owned), new.map(str::to_owned));
            unblock(self, move |store| {
                store.swap(&key, Some(expected.as_deref()), new.as_deref())
            })
        }
    }
}
