//! Demo data: one county-level city on the Yangtze (around 31.87 N, 120.55 E) with 3 regions,
//! 12 grid districts, 30 technicians, 3 account managers and one each of admin, dispatcher,
//! call-center agent and manager, with on-duty rosters. The city is one branch of a small demo
//! province; its five other branches appear through their imported monthly figures.

use crate::api::admin::validate_new_user;
use crate::auth::secret;
use crate::db::{Db, DbConn};
use crate::domain::new_id;
use crate::spatial::grid::jittered_grid;
use crate::store::branches::{self, BranchRow, FiguresRow};
use crate::store::districts::{self, DistrictRow};
use crate::store::duty::{self, RotationRow};
use crate::store::{regions, users};

/// A demo account and its one-time password.
pub struct DemoAccount {
    pub username: String,
    pub role: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub password: String,
}

/// What seeding did.
pub enum Seeded {
    Created(Vec<DemoAccount>),
    AlreadyPresent,
}

const REGIONS: [(&str, &str); 3] = [
    ("ZJG-W", "西部片区"),
    ("ZJG-C", "城区片区"),
    ("ZJG-E", "东部片区"),
];

/// Grid cells, row by row from the south, west to east, with their region and name.
const DISTRICTS: [(&str, usize, &str); 12] = [
    ("ZJG-W-01", 0, "凤凰网格"),
    ("ZJG-W-02", 0, "塘桥南网格"),
    ("ZJG-C-01", 1, "杨舍南网格"),
    ("ZJG-E-01", 2, "南丰网格"),
    ("ZJG-W-03", 0, "塘桥北网格"),
    ("ZJG-C-02", 1, "杨舍西网格"),
    ("ZJG-C-03", 1, "杨舍东网格"),
    ("ZJG-E-02", 2, "乐余网格"),
    ("ZJG-W-04", 0, "锦丰网格"),
    ("ZJG-C-04", 1, "金港网格"),
    ("ZJG-E-03", 2, "后塍网格"),
    ("ZJG-E-04", 2, "常阴沙网格"),
];

/// The province's other branches with the figures imported for them every month: installation
/// and maintenance timeliness, manual answer rate, online resolution rate, net churn (basis
/// points). The demo city's own timeliness is counted by fixline; the rest of its figures are
/// imported too.
const PROVINCE: [(&str, &str, [Option<i32>; 5]); 6] = [
    (
        "ZJG",
        "张家港分公司",
        [None, None, Some(9260), Some(8340), Some(95)],
    ),
    (
        "CS",
        "常熟分公司",
        [Some(9810), Some(9760), Some(9320), Some(8410), Some(85)],
    ),
    (
        "TC",
        "太仓分公司",
        [Some(9740), Some(9690), Some(9180), Some(8260), Some(110)],
    ),
    (
        "KS",
        "昆山分公司",
        [Some(9860), Some(9820), Some(9450), Some(8630), Some(70)],
    ),
    (
        "JY",
        "江阴分公司",
        [Some(9680), Some(9590), Some(9040), Some(8020), Some(145)],
    ),
    (
        "YX",
        "宜兴分公司",
        [Some(9570), Some(9480), Some(8910), Some(7890), Some(190)],
    ),
];

const SURNAMES: [&str; 10] = ["张", "王", "李", "陈", "刘", "杨", "黄", "周", "吴", "徐"];
const GIVEN: [&str; 10] = ["伟", "强", "磊", "军", "勇", "杰", "涛", "明", "超", "华"];

/// The demo district boundaries (WGS-84), in the order of [`DISTRICTS`].
pub fn district_boundaries() -> Vec<geo::MultiPolygon<f64>> {
    // 4 × 3 cells of about 7.5 km × 6.7 km, south-west corner at 31.77 N, 120.40 E.
    jittered_grid(4, 3, 120.40, 31.77, 0.08, 0.06, 20_101)
}

/// Seeds the demo city unless it is already there. `password` sets every account's password;
/// otherwise each gets a random one, returned once.
pub fn seed(db: &Db, now: chrono::NaiveDateTime, password: Option<&str>) -> anyhow::Result<Seeded> {
    let mut conn = db.conn()?;
    if regions::find_by_code(&mut conn, REGIONS[0].0)?.is_some() {
        return Ok(Seeded::AlreadyPresent);
    }
    drop(conn);
    db.write_blocking(|conn| -> anyhow::Result<Seeded> {
        let accounts = seed_in(conn, now, password)?;
        Ok(Seeded::Created(accounts))
    })
}

fn seed_in(
    conn: &mut DbConn,
    now: chrono::NaiveDateTime,
    password: Option<&str>,
) -> anyhow::Result<Vec<DemoAccount>> {
    let mut branch_ids = Vec::new();
    for (code, name, _) in PROVINCE {
        let b = BranchRow {
            id: new_id(),
            code: code.into(),
            name: name.into(),
            created_at: now,
            updated_at: now,
        };
        branches::insert(conn, &b)?;
        branch_ids.push(b.id);
    }
    let mut region_ids = Vec::new();
    for (code, name) in REGIONS {
        let r = regions::Region {
            id: new_id(),
            code: code.into(),
            name: name.into(),
            created_at: now,
            updated_at: now,
            branch_id: Some(branch_ids[0].clone()),
        };
        regions::insert(conn, &r)?;
        region_ids.push(r.id);
    }
    let all_regions = region_ids.clone();
    let mut accounts = Vec::new();
    // With one shared password, hash it once: argon2 is deliberately slow.
    let shared_hash = password.map(crate::auth::password::hash);
    let mut add = |conn: &mut DbConn,
                   username: String,
                   display_name: String,
                   role: &str,
                   phone: Option<String>,
                   regions: Vec<String>|
     -> anyhow::Result<String> {
        let pw = password
            .map(str::to_string)
            .unwrap_or_else(secret::random_password);
        let hash = |p: &str| {
            shared_hash
                .clone()
                .unwrap_or_else(|| crate::auth::password::hash(p))
        };
        let valid = validate_new_user(
            &username,
            &display_name,
            role,
            &pw,
            phone.as_deref(),
            regions,
            now,
            hash,
        )
        .map_err(|e| anyhow::anyhow!("demo user {username}: {e}"))?;
        let id = valid.row.id.clone();
        users::insert(conn, &valid.row, &valid.region_ids)?;
        accounts.push(DemoAccount {
            username,
            role: role.into(),
            display_name,
            phone: valid.row.phone.clone(),
            password: pw,
        });
        Ok(id)
    };
    let admin = add(
        conn,
        "admin".into(),
        "系统管理员".into(),
        "admin",
        None,
        vec![],
    )?;
    add(
        conn,
        "dispatcher".into(),
        "调度员 孙丽".into(),
        "dispatcher",
        Some("13962200001".into()),
        all_regions.clone(),
    )?;
    add(
        conn,
        "agent".into(),
        "话务员 朱静".into(),
        "agent",
        Some("13962200002".into()),
        all_regions.clone(),
    )?;
    add(
        conn,
        "manager".into(),
        "维护安装部 沈经理".into(),
        "manager",
        Some("13962200003".into()),
        all_regions.clone(),
    )?;
    let area = ["west", "city", "east"];
    let mut managers = Vec::new();
    for (r, region_id) in region_ids.iter().enumerate() {
        let id = add(
            conn,
            format!("am.{}", area[r]),
            format!("客户经理 {}{}", SURNAMES[r + 5], GIVEN[r + 2]),
            "account_manager",
            Some(format!("1396220{:04}", 100 + r)),
            vec![region_id.clone()],
        )?;
        managers.push(id);
    }
    // Rosters: the account manager on duty round the clock; in each region the first five
    // technicians on the day shift (08:00-20:00), the other five on the night shift.
    let mut rotations = Vec::new();
    let mut roster = |region: &str, user: &str, role: &str, start: i32, end: i32| {
        for weekday in 1..=7 {
            rotations.push(RotationRow {
                id: new_id(),
                region_id: region.to_string(),
                user_id: user.to_string(),
                role: role.to_string(),
                weekday,
                start_minute: start,
                end_minute: end,
                created_at: now,
            });
        }
    };
    for (r, am) in managers.iter().enumerate() {
        roster(&region_ids[r], am, "account_manager", 0, 1440);
    }
    let mut leaders: Vec<Vec<String>> = vec![vec![]; region_ids.len()];
    for n in 0..30 {
        let r = n % 3;
        let id = add(
            conn,
            format!("tech{:02}", n + 1),
            format!("{}{}", SURNAMES[n % 10], GIVEN[(n * 3 + n / 10) % 10]),
            "technician",
            Some(format!("1391562{:04}", 1000 + n)),
            vec![region_ids[r].clone()],
        )?;
        let day = leaders[r].len() < 5;
        roster(
            &region_ids[r],
            &id,
            "technician",
            if day { 480 } else { 1200 },
            if day { 1200 } else { 480 },
        );
        leaders[r].push(id);
    }
    duty::insert_rotations(conn, &rotations)?;
    for (k, ((code, region, name), boundary)) in
        DISTRICTS.iter().zip(district_boundaries()).enumerate()
    {
        crate::spatial::import::check_boundary(&boundary)
            .map_err(|e| anyhow::anyhow!("demo district {code}: {e}"))?;
        // Each district's leader (格长) is one of its region's technicians.
        let leader = leaders[*region][k % leaders[*region].len()].clone();
        let row = DistrictRow::new(
            new_id(),
            region_ids[*region].clone(),
            code.to_string(),
            name.to_string(),
            &boundary,
            Some(leader),
            now,
        );
        districts::insert(conn, &row)?;
    }
    districts::bump_revision(conn)?;
    let this_month =
        crate::domain::period::Month::containing(chrono_tz::Asia::Shanghai, now.and_utc());
    for month in [this_month.previous(), this_month] {
        for ((_, _, f), branch_id) in PROVINCE.iter().zip(&branch_ids) {
            branches::insert_figures(
                conn,
                &FiguresRow {
                    id: new_id(),
                    branch_id: branch_id.clone(),
                    month: month.to_string(),
                    install_bp: f[0],
                    maintenance_bp: f[1],
                    answer_bp: f[2],
                    online_resolution_bp: f[3],
                    churn_bp: f[4],
                    source: "省公司月度服务质量通报（演示数据）".into(),
                    imported_by: admin.clone(),
                    imported_at: now,
                },
            )?;
        }
    }
    Ok(accounts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_city_is_where_it_should_be() {
        let cells = district_boundaries();
        assert_eq!(cells.len(), DISTRICTS.len());
        let index = crate::spatial::DistrictIndex::build(
            0,
            cells
                .into_iter()
                .zip(DISTRICTS)
                .map(
                    |(boundary, (code, region, name))| crate::spatial::DistrictShape {
                        id: code.into(),
                        code: code.into(),
                        name: name.into(),
                        region_id: REGIONS[region].0.into(),
                        boundary,
                    },
                )
                .collect(),
        );
        // The city centre lies in the city region.
        match index.locate(31.87, 120.55) {
            crate::spatial::Located::Inside { district, .. } => {
                assert!(district.code.starts_with("ZJG-C"), "{}", district.code)
            }
            other => panic!("{other:?}"),
        }
    }
}
