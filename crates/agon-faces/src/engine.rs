//! The model, shared by the HTTP handlers and the verification consumer: loaded on first use, run on the
//! blocking pool, at most one analysis per core at a time so a burst of uploads queues instead of starving the
//! runtime.

use std::sync::Arc;

use tokio::sync::{OnceCell, Semaphore};

use crate::model::{Described, Model, Refusal};

#[derive(Clone)]
pub struct Engine {
    model: Arc<OnceCell<Arc<Model>>>,
    permits: Arc<Semaphore>,
}

impl Engine {
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            model: Arc::new(OnceCell::new()),
            permits: Arc::new(Semaphore::new(cores)),
        }
    }

    /// The one face in `photo`, described, or why there is none.
    pub async fn describe(&self, photo: Vec<u8>) -> anyhow::Result<Result<Described, Refusal>> {
        let _permit = self.permits.acquire().await?;
        let model = self
            .model
            .get_or_try_init(|| async {
                let started = std::time::Instant::now();
                let model = tokio::task::spawn_blocking(Model::load).await??;
                tracing::info!(
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "face models loaded"
                );
                anyhow::Ok(Arc::new(model))
            })
            .await?
            .clone();
        tokio::task::spawn_blocking(move || model.describe(&photo)).await?
    }
}
