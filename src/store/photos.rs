//! Photos and signatures of tickets (the images are in the blob store).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::photos;
use crate::db::DbConn;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = photos)]
pub struct PhotoRow {
    pub id: String,
    pub ticket_id: String,
    pub region_id: String,
    pub uploaded_by: String,
    /// `site` or `signature`.
    pub purpose: String,
    /// `check_in` or `resolve`.
    pub stage: Option<String>,
    pub content_type: String,
    pub bytes: i64,
    /// Hex SHA-256 of the image: its key in the blob store.
    pub sha256: String,
    /// EXIF: when and where the camera says it was taken.
    pub taken_at: Option<NaiveDateTime>,
    pub taken_lat: Option<f64>,
    pub taken_lon: Option<f64>,
    pub received_at: NaiveDateTime,
}

impl PhotoRow {
    /// The image's key in the blob store.
    pub fn blob_key(&self) -> String {
        blob_key(&self.sha256)
    }
}

/// Where an image with this hash is kept.
pub fn blob_key(sha256: &str) -> String {
    format!("photos/{}/{sha256}", &sha256[..2.min(sha256.len())])
}

pub fn insert(conn: &mut DbConn, row: &PhotoRow) -> QueryResult<()> {
    diesel::insert_into(photos::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// The ticket's photo with this image, if it has one.
pub fn by_hash(conn: &mut DbConn, ticket_id: &str, sha256: &str) -> QueryResult<Option<PhotoRow>> {
    photos::table
        .filter(photos::ticket_id.eq(ticket_id))
        .filter(photos::sha256.eq(sha256))
        .select(PhotoRow::as_select())
        .get_result(conn)
        .optional()
}

/// The ticket's photos, oldest first.
pub fn for_ticket(conn: &mut DbConn, ticket_id: &str) -> QueryResult<Vec<PhotoRow>> {
    photos::table
        .filter(photos::ticket_id.eq(ticket_id))
        .order((photos::received_at.asc(), photos::id.asc()))
        .select(PhotoRow::as_select())
        .load(conn)
}

/// How many photos of `purpose` (any: None) the ticket has.
pub fn count(conn: &mut DbConn, ticket_id: &str, purpose: Option<&str>) -> QueryResult<i64> {
    let mut q = photos::table
        .filter(photos::ticket_id.eq(ticket_id))
        .count()
        .into_boxed();
    if let Some(p) = purpose {
        q = q.filter(photos::purpose.eq(p));
    }
    q.get_result(conn)
}

pub fn get(conn: &mut DbConn, ticket_id: &str, id: &str) -> QueryResult<Option<PhotoRow>> {
    photos::table
        .filter(photos::ticket_id.eq(ticket_id))
        .filter(photos::id.eq(id))
        .select(PhotoRow::as_select())
        .get_result(conn)
        .optional()
}

#[cfg(test)]
mod tests {
    #[test]
    fn images_are_kept_under_their_hash() {
        assert_eq!(super::blob_key("ab12cd"), "photos/ab/ab12cd");
    }
}
