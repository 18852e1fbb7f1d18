//! Demo data: one county-level city on the Yangtze (around 31.87 N, 120.55 E) with 3 regions,
//! 12 grid districts, 30 technicians, 3 account managers and one each of admin, dispatcher,
//! call-center agent and manager, with on-duty rosters. The city is one branch of a small demo
//! province; its five other branches appear through their imported monthly figures.
//! [`organise`] gives it its teams and sections, and [`first_calls`] the calls `serve --demo`
//! opens with.

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

/// Each region's area as its account manager's username names it (`am.west`, ...).
const AREAS: [&str; 3] = ["west", "city", "east"];

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
    let mut managers = Vec::new();
    for (r, region_id) in region_ids.iter().enumerate() {
        let id = add(
            conn,
            format!("am.{}", AREAS[r]),
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

/// Gives the demo city its organisation, unless it has one: a repair team (班组) per region
/// with the region's technicians and account manager, led by its first technician, under the
/// maintenance section (维护安装部) the manager heads; the call-center team with the agent under
/// the customer-service section; both sections under the branch leadership.
pub fn organise(db: &Db, now: chrono::NaiveDateTime) -> anyhow::Result<()> {
    db.write_blocking(|conn| organise_in(conn, now))
}

fn organise_in(conn: &mut DbConn, now: chrono::NaiveDateTime) -> anyhow::Result<()> {
    use crate::domain::org::{check_parent, UnitKind};
    use crate::store::org::{self, UnitRow};
    if org::find_by_code(conn, "ZJG-LD")?.is_some() {
        return Ok(());
    }
    let branch = branches::find_by_code(conn, PROVINCE[0].0)?
        .ok_or_else(|| anyhow::anyhow!("the demo city is not loaded"))?;
    let user = |conn: &mut DbConn, name: &str| -> anyhow::Result<String> {
        Ok(users::find_by_username(conn, name)?
            .ok_or_else(|| anyhow::anyhow!("demo account {name} is missing"))?
            .id)
    };
    let unit = |conn: &mut DbConn,
                kind: UnitKind,
                code: &str,
                name: &str,
                parent: Option<&UnitRow>,
                head: Option<String>|
     -> anyhow::Result<UnitRow> {
        check_parent(kind, parent.map(|p| p.kind))?;
        let row = UnitRow {
            id: new_id(),
            branch_id: branch.id.clone(),
            kind,
            code: code.into(),
            name: name.into(),
            parent_id: parent.map(|p| p.id.clone()),
            head_user_id: head,
            created_at: now,
            updated_at: now,
        };
        org::insert(conn, &row)?;
        Ok(row)
    };
    let leadership = unit(
        conn,
        UnitKind::Leadership,
        "ZJG-LD",
        "张家港分公司班子",
        None,
        None,
    )?;
    let manager = user(conn, "manager")?;
    let maintenance = unit(
        conn,
        UnitKind::Section,
        "ZJG-WX",
        "维护安装部",
        Some(&leadership),
        Some(manager),
    )?;
    let service = unit(
        conn,
        UnitKind::Section,
        "ZJG-KF",
        "客户服务部",
        Some(&leadership),
        None,
    )?;
    let agent = user(conn, "agent")?;
    let calls = unit(
        conn,
        UnitKind::CallCenterTeam,
        "ZJG-KF-01",
        "话务一班",
        Some(&service),
        Some(agent.clone()),
    )?;
    org::set_member(conn, &agent, &calls.id)?;
    let teams = ["西部维修班", "城区维修班", "东部维修班"];
    for (r, (code, _)) in REGIONS.iter().enumerate() {
        let region = regions::find_by_code(conn, code)?
            .ok_or_else(|| anyhow::anyhow!("demo region {code} is missing"))?;
        let mut techs = users::list(
            conn,
            &users::UserFilter {
                role: Some(crate::domain::Role::Technician),
                region_id: Some(region.id),
            },
        )?;
        techs.sort_by(|a, b| a.username.cmp(&b.username));
        let team = unit(
            conn,
            UnitKind::Team,
            &format!("{code}-BZ"),
            teams[r],
            Some(&maintenance),
            techs.first().map(|t| t.id.clone()),
        )?;
        for t in &techs {
            org::set_member(conn, &t.id, &team.id)?;
        }
        let am = user(conn, &format!("am.{}", AREAS[r]))?;
        org::set_member(conn, &am, &team.id)?;
    }
    Ok(())
}

/// The calls of the demo's first minutes, one in each of the first nine districts (in the order
/// of [`DISTRICTS`]), as the call center records them: customer, phone, address, fault, and
/// whether it is an installation.
const FIRST_CALLS: [(&str, &str, &str, &str, &str, bool); 9] = [
    (
        "顾先生",
        "13912340101",
        "凤凰镇凤凰大道 18 号",
        "无信号",
        "电视全部频道无信号",
        false,
    ),
    (
        "钱女士",
        "13912340102",
        "塘桥镇妙桥路 6 号",
        "宽带断网",
        "光猫红灯闪烁，无法上网",
        false,
    ),
    (
        "孙先生",
        "13912340103",
        "杨舍镇南环路 120 号",
        "花屏",
        "部分频道马赛克",
        false,
    ),
    (
        "朱女士",
        "13912340104",
        "南丰镇永联路 3 号",
        "新装宽带",
        "新装 200M 宽带及机顶盒",
        true,
    ),
    (
        "陆先生",
        "13912340105",
        "塘桥镇鹿苑路 9 号",
        "无信号",
        "机顶盒提示信号中断",
        false,
    ),
    (
        "沈女士",
        "13912340106",
        "杨舍镇西环路 66 号",
        "遥控器失灵",
        "机顶盒不响应遥控器",
        false,
    ),
    (
        "蒋先生",
        "13912340107",
        "杨舍镇暨阳湖小区 5 幢",
        "宽带断网",
        "路由器无法获取地址",
        false,
    ),
    (
        "韩女士",
        "13912340108",
        "乐余镇兆丰路 21 号",
        "花屏",
        "雨天画面卡顿",
        false,
    ),
    (
        "杨先生",
        "13912340109",
        "锦丰镇锦绣路 120 号",
        "无信号",
        "有线电视无信号",
        false,
    ),
];

/// What each first call's technician has done: nothing yet, agreed a visit, arrived, finished.
const FIRST_STEPS: [usize; 9] = [0, 1, 2, 0, 1, 3, 0, 1, 2];

/// Records the demo's first calls at the server's now, spread over the city, and has their
/// technicians work some of them through the same flow as the phone app: the board opens with
/// calls in every stage, their clocks running, and the escalation takes over the ones nobody
/// acknowledges. Answers the usernames of the technicians holding them.
pub async fn first_calls(state: &crate::api::state::AppState) -> anyhow::Result<Vec<String>> {
    use crate::domain::ticket::TicketKind;
    use crate::domain::{PhoneNumber, RegionScope, Role, WgsPoint};
    use crate::flow::actions::{self, Acting};
    use crate::flow::intake::{self, NewTicket};
    use crate::flow::{Actor, When};
    let index = state.districts.get(&state.db).await?;
    let now = state.clock.now();
    let mut calls = Vec::new();
    for ((name, phone, address, category, description, install), cell) in
        FIRST_CALLS.iter().zip(district_boundaries())
    {
        use geo::Centroid;
        let c = cell
            .centroid()
            .ok_or_else(|| anyhow::anyhow!("an empty demo district"))?;
        let point = WgsPoint::parse("location", c.y(), c.x(), Default::default())?;
        let placement = intake::place_at(index.locate(point.lat, point.lon))
            .ok_or_else(|| anyhow::anyhow!("no demo district at {point:?}"))?;
        calls.push((
            NewTicket {
                kind: if *install {
                    TicketKind::Install
                } else {
                    TicketKind::Repair
                },
                external_ref: None,
                customer_name: name.to_string(),
                customer_phone: PhoneNumber::parse("customer_phone", phone)?,
                address: address.to_string(),
                point: Some(point),
                account_no: None,
                fault_category: category.to_string(),
                fault_description: description.to_string(),
                follow_up_of: None,
            },
            placement,
        ));
    }
    let flow = state.flow.clone();
    let recorded = state
        .db
        .write(move |conn| -> anyhow::Result<Vec<String>> {
            let agent = users::find_by_username(conn, "agent")?
                .ok_or_else(|| anyhow::anyhow!("demo account agent is missing"))?;
            let received = now.naive_utc();
            let mut holders = std::collections::BTreeSet::new();
            for ((new, placement), steps) in calls.iter().zip(FIRST_STEPS) {
                let (t, _) = intake::intake(
                    conn,
                    &flow,
                    new,
                    placement,
                    &Actor::user(&agent.id),
                    received,
                )?;
                let Some(holder) = t.assignee_id.clone() else {
                    continue;
                };
                if let Some(u) = users::find_row(conn, &holder)? {
                    holders.insert(u.username);
                }
                let who = Acting {
                    actor: Actor::user(&holder),
                    role: Role::Technician,
                    scope: RegionScope::Only(vec![t.region_id.clone()]),
                };
                let when = When::from(received);
                if steps >= 1 {
                    let visit = now + chrono::Duration::minutes(90);
                    actions::acknowledge(
                        conn,
                        &flow,
                        &t.id,
                        &who,
                        visit,
                        "已电话联系，约好上门",
                        when,
                    )?;
                }
                if steps >= 2 {
                    if let Some(p) = new.point {
                        actions::check_in(conn, &flow, &t.id, &who, p, when)?;
                    }
                }
                if steps >= 3 {
                    actions::resolve(conn, &flow, &t.id, &who, "fixed", "更换遥控器", when)?;
                }
            }
            Ok(holders.into_iter().collect())
        })
        .await?;
    state.kick();
    Ok(recorded)
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
