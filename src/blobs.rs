//! Where photos are kept: files under the data folder, or an S3-compatible bucket. Images are
//! stored under their content hash, so writing one twice is harmless and a blob left by an
//! upload whose database write failed is simply found again by the retry.

use std::sync::Arc;

use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload};
use secrecy::ExposeSecret;

use crate::config::BlobStoreConfig;

/// A blob store failed.
#[derive(Debug, thiserror::Error)]
#[error("the blob store: {0}")]
pub struct BlobError(String);

impl From<object_store::Error> for BlobError {
    fn from(e: object_store::Error) -> Self {
        BlobError(e.to_string())
    }
}

#[derive(Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
}

impl std::fmt::Debug for Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Blobs({})", self.store)
    }
}

impl Blobs {
    pub fn open(cfg: &BlobStoreConfig) -> Result<Blobs, BlobError> {
        let store: Arc<dyn ObjectStore> = match cfg {
            BlobStoreConfig::Files(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| BlobError(format!("creating {}: {e}", dir.display())))?;
                Arc::new(object_store::local::LocalFileSystem::new_with_prefix(dir)?)
            }
            BlobStoreConfig::S3 {
                bucket,
                prefix,
                endpoint,
                region,
                access_key_id,
                secret_access_key,
            } => {
                let mut b = object_store::aws::AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(region);
                if let Some(e) = endpoint {
                    b = b
                        .with_endpoint(e)
                        .with_allow_http(e.starts_with("http://"))
                        .with_virtual_hosted_style_request(false);
                }
                if let Some(k) = access_key_id {
                    b = b.with_access_key_id(k);
                }
                if let Some(s) = secret_access_key {
                    b = b.with_secret_access_key(s.expose_secret());
                }
                let s3: Arc<dyn ObjectStore> = Arc::new(b.build()?);
                if prefix.is_empty() {
                    s3
                } else {
                    Arc::new(object_store::prefix::PrefixStore::new(s3, prefix.as_str()))
                }
            }
        };
        Ok(Blobs { store })
    }

    /// Keeps `bytes` under `key` unless something is kept there already (keys are content
    /// hashes: what is there is the same).
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), BlobError> {
        let path = Path::from(key);
        match self.store.head(&path).await {
            Ok(_) => return Ok(()),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        self.store.put(&path, PutPayload::from(bytes)).await?;
        Ok(())
    }

    /// What is kept under `key`, if anything.
    pub async fn get(&self, key: &str) -> Result<Option<Bytes>, BlobError> {
        match self.store.get(&Path::from(key)).await {
            Ok(got) => Ok(Some(got.bytes().await?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}
