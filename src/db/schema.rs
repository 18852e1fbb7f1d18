//! Diesel table definitions shared by both dialects. Every migration folder must produce exactly
//! these tables and columns; `tests/api/schema.rs` checks that on SQLite and PostgreSQL.

diesel::table! {
    regions (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        branch_id -> Nullable<Text>,
    }
}

diesel::table! {
    branches (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    org_units (id) {
        id -> Text,
        branch_id -> Text,
        kind -> Text,
        code -> Text,
        name -> Text,
        parent_id -> Nullable<Text>,
        head_user_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    unit_members (user_id) {
        user_id -> Text,
        unit_id -> Text,
    }
}

diesel::table! {
    unit_figures (id) {
        id -> Text,
        unit_id -> Text,
        month -> Text,
        kpi -> Nullable<Double>,
        appraisal -> Nullable<Double>,
        calls -> Nullable<BigInt>,
        service_complaints -> Nullable<BigInt>,
        government_upheld -> Nullable<BigInt>,
        inspection_met -> Nullable<Bool>,
        callback_met -> Nullable<Bool>,
        source -> Text,
        imported_by -> Text,
        imported_at -> Timestamp,
    }
}

diesel::table! {
    household_visits (id) {
        id -> Text,
        region_id -> Text,
        district_id -> Nullable<Text>,
        user_id -> Text,
        customer_name -> Nullable<Text>,
        customer_phone -> Text,
        address -> Text,
        lat -> Nullable<Double>,
        lon -> Nullable<Double>,
        visited_at -> Timestamp,
        answers -> Text,
        ticket_id -> Nullable<Text>,
        complaint_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    morning_brief_days (day) {
        day -> Text,
        sent_at -> Timestamp,
        teams -> Integer,
    }
}

diesel::table! {
    sms_opt_outs (phone) {
        phone -> Text,
        region_id -> Text,
        opted_out_at -> Timestamp,
        text -> Text,
    }
}

diesel::table! {
    sms_surveys (id) {
        id -> Text,
        ticket_id -> Text,
        region_id -> Text,
        district_id -> Nullable<Text>,
        technician_id -> Nullable<Text>,
        customer_phone -> Text,
        resolved_at -> Timestamp,
        asked_at -> Timestamp,
        answer_by -> Timestamp,
        outcome -> Nullable<Text>,
        rating -> Nullable<Integer>,
        remark -> Nullable<Text>,
        answered_at -> Nullable<Timestamp>,
        help_sent_at -> Nullable<Timestamp>,
        follow_up_ticket_id -> Nullable<Text>,
        complaint_id -> Nullable<Text>,
    }
}

diesel::table! {
    staff_appraisals (id) {
        id -> Text,
        user_id -> Text,
        month -> Text,
        skill -> Double,
        knowledge -> Double,
        attitude -> Double,
        note -> Nullable<Text>,
        recorded_by -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    branch_figures (id) {
        id -> Text,
        branch_id -> Text,
        month -> Text,
        install_bp -> Nullable<Integer>,
        maintenance_bp -> Nullable<Integer>,
        answer_bp -> Nullable<Integer>,
        online_resolution_bp -> Nullable<Integer>,
        churn_bp -> Nullable<Integer>,
        source -> Text,
        imported_by -> Text,
        imported_at -> Timestamp,
    }
}

diesel::table! {
    client_actions (user_id, action_id) {
        user_id -> Text,
        action_id -> Text,
        fingerprint -> Text,
        outcome -> Text,
        status -> Integer,
        body -> Text,
        ticket_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        display_name -> Text,
        phone -> Nullable<Text>,
        role -> Text,
        password_hash -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        session_version -> Integer,
    }
}

diesel::table! {
    user_regions (user_id, region_id) {
        user_id -> Text,
        region_id -> Text,
    }
}

diesel::table! {
    districts (id) {
        id -> Text,
        region_id -> Text,
        code -> Text,
        name -> Text,
        boundary -> Text,
        min_lon -> Double,
        min_lat -> Double,
        max_lon -> Double,
        max_lat -> Double,
        leader_user_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    district_revision (id) {
        id -> Integer,
        revision -> BigInt,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        user_id -> Text,
        family_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        name -> Text,
        key_prefix -> Text,
        key_hash -> Text,
        role -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        purpose -> Text,
        region_ids -> Nullable<Text>,
        expires_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    duty_rotations (id) {
        id -> Text,
        region_id -> Text,
        user_id -> Text,
        role -> Text,
        weekday -> Integer,
        start_minute -> Integer,
        end_minute -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    duty_overrides (id) {
        id -> Text,
        region_id -> Text,
        user_id -> Text,
        role -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        on_duty -> Bool,
        note -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    technician_positions (user_id) {
        user_id -> Text,
        lat -> Double,
        lon -> Double,
        accuracy_m -> Nullable<Double>,
        at -> Timestamp,
    }
}

diesel::table! {
    /// Open tickets per technician, kept by triggers on `tickets` (see migration 000008).
    technician_load (user_id) {
        user_id -> Text,
        open_tickets -> Integer,
    }
}

diesel::table! {
    tickets (id) {
        id -> Text,
        region_id -> Text,
        district_id -> Nullable<Text>,
        kind -> Text,
        status -> Text,
        external_ref -> Nullable<Text>,
        customer_name -> Text,
        customer_phone -> Text,
        address -> Text,
        lat -> Nullable<Double>,
        lon -> Nullable<Double>,
        account_no -> Nullable<Text>,
        fault_category -> Text,
        fault_description -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
        assignee_id -> Nullable<Text>,
        assigned_at -> Nullable<Timestamp>,
        flagged -> Bool,
        flag_reason -> Nullable<Text>,
        dispatch_due_at -> Timestamp,
        pushed_at -> Nullable<Timestamp>,
        dispatch_on_time -> Nullable<Bool>,
        ack_due_at -> Nullable<Timestamp>,
        assignment_ack_due_at -> Nullable<Timestamp>,
        acknowledged_at -> Nullable<Timestamp>,
        ack_on_time -> Nullable<Bool>,
        escalation_level -> Integer,
        appointment_at -> Nullable<Timestamp>,
        contact_note -> Nullable<Text>,
        arrival_due_at -> Nullable<Timestamp>,
        arrived_at -> Nullable<Timestamp>,
        arrival_on_time -> Nullable<Bool>,
        check_in_distance_m -> Nullable<Double>,
        check_in_far -> Nullable<Bool>,
        promised_at -> Timestamp,
        original_promised_at -> Timestamp,
        postponement_count -> Integer,
        resolved_at -> Nullable<Timestamp>,
        resolve_on_time -> Nullable<Bool>,
        resolution_code -> Nullable<Text>,
        resolution_notes -> Nullable<Text>,
        closed_at -> Nullable<Timestamp>,
        cancelled_at -> Nullable<Timestamp>,
        cancel_reason -> Nullable<Text>,
        next_deadline_at -> Nullable<Timestamp>,
        follow_up_of -> Nullable<Text>,
        network_fault_id -> Nullable<Text>,
    }
}

diesel::table! {
    ticket_events (id) {
        id -> Text,
        ticket_id -> Text,
        region_id -> Text,
        at -> Timestamp,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        kind -> Text,
        detail -> Text,
        lat -> Nullable<Double>,
        lon -> Nullable<Double>,
    }
}

diesel::table! {
    notifications (id) {
        id -> Text,
        region_id -> Text,
        ticket_id -> Nullable<Text>,
        recipient_user_id -> Nullable<Text>,
        recipient_phone -> Text,
        channel -> Text,
        purpose -> Text,
        body -> Text,
        status -> Text,
        attempts -> Integer,
        created_at -> Timestamp,
        next_attempt_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        accepted_at -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
        provider -> Nullable<Text>,
        provider_message_id -> Nullable<Text>,
        last_error -> Nullable<Text>,
        network_fault_id -> Nullable<Text>,
    }
}

diesel::table! {
    region_policies (region_id, kind) {
        region_id -> Text,
        kind -> Text,
        promise_minutes -> Nullable<Integer>,
        calendar -> Nullable<Text>,
        updated_at -> Timestamp,
        photo_required_for -> Nullable<Text>,
    }
}

diesel::table! {
    photos (id) {
        id -> Text,
        ticket_id -> Text,
        region_id -> Text,
        uploaded_by -> Text,
        purpose -> Text,
        stage -> Nullable<Text>,
        content_type -> Text,
        bytes -> BigInt,
        sha256 -> Text,
        taken_at -> Nullable<Timestamp>,
        taken_lat -> Nullable<Double>,
        taken_lon -> Nullable<Double>,
        received_at -> Timestamp,
    }
}

diesel::table! {
    technician_track (user_id, at) {
        user_id -> Text,
        at -> Timestamp,
        lat -> Double,
        lon -> Double,
        accuracy_m -> Nullable<Double>,
        received_at -> Timestamp,
    }
}

diesel::table! {
    list_versions (user_id) {
        user_id -> Text,
        version -> BigInt,
        floor -> BigInt,
    }
}

diesel::table! {
    list_changes (user_id, ticket_id) {
        user_id -> Text,
        ticket_id -> Text,
        version -> BigInt,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    user_feed (seq) {
        seq -> BigInt,
        user_id -> Nullable<Text>,
        ticket_id -> Text,
        kind -> Text,
        at -> Timestamp,
        detail -> Text,
        region_id -> Text,
    }
}

diesel::table! {
    notification_attempts (id) {
        id -> Text,
        notification_id -> Text,
        attempt -> Integer,
        at -> Timestamp,
        outcome -> Text,
        provider -> Text,
        answer -> Nullable<Text>,
        latency_ms -> BigInt,
    }
}

diesel::table! {
    assignments (id) {
        id -> Text,
        ticket_id -> Text,
        region_id -> Text,
        user_id -> Text,
        assigned_at -> Timestamp,
        ack_due_at -> Timestamp,
        acknowledged_at -> Nullable<Timestamp>,
        contact_on_time -> Nullable<Bool>,
        ended_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    postponement_requests (id) {
        id -> Text,
        ticket_id -> Text,
        region_id -> Text,
        requested_by -> Text,
        requested_at -> Timestamp,
        new_promised_at -> Timestamp,
        new_appointment_at -> Nullable<Timestamp>,
        reason -> Text,
        status -> Text,
        decided_by -> Nullable<Text>,
        decided_via -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        decision_note -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_receipts (signature) {
        signature -> Text,
        received_at -> Timestamp,
    }
}

diesel::table! {
    sms_platforms (name) {
        name -> Text,
        state -> Text,
        since -> Timestamp,
        last_error -> Nullable<Text>,
    }
}

diesel::joinable!(assignments -> tickets (ticket_id));
diesel::joinable!(postponement_requests -> tickets (ticket_id));
diesel::joinable!(assignments -> users (user_id));
diesel::joinable!(user_regions -> users (user_id));
diesel::joinable!(user_regions -> regions (region_id));
diesel::joinable!(regions -> branches (branch_id));
diesel::joinable!(branch_figures -> branches (branch_id));
diesel::joinable!(org_units -> branches (branch_id));
diesel::joinable!(unit_members -> org_units (unit_id));
diesel::joinable!(unit_figures -> org_units (unit_id));
diesel::joinable!(districts -> regions (region_id));
diesel::joinable!(districts -> users (leader_user_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(api_keys -> users (created_by));
diesel::joinable!(duty_rotations -> regions (region_id));
diesel::joinable!(duty_rotations -> users (user_id));
diesel::joinable!(duty_overrides -> regions (region_id));
diesel::joinable!(duty_overrides -> users (user_id));
diesel::joinable!(technician_positions -> users (user_id));
diesel::joinable!(tickets -> regions (region_id));
diesel::joinable!(region_policies -> regions (region_id));
diesel::joinable!(user_feed -> users (user_id));
diesel::joinable!(list_versions -> users (user_id));
diesel::joinable!(technician_track -> users (user_id));
diesel::joinable!(photos -> tickets (ticket_id));
diesel::joinable!(list_changes -> tickets (ticket_id));
diesel::joinable!(notification_attempts -> notifications (notification_id));
diesel::joinable!(user_feed -> tickets (ticket_id));
diesel::joinable!(tickets -> districts (district_id));
diesel::joinable!(tickets -> users (assignee_id));
diesel::joinable!(ticket_events -> tickets (ticket_id));
diesel::joinable!(notifications -> tickets (ticket_id));
diesel::joinable!(notifications -> users (recipient_user_id));

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    callbacks (id) {
        id -> Text,
        ticket_id -> Text,
        region_id -> Text,
        district_id -> Nullable<Text>,
        technician_id -> Nullable<Text>,
        resolved_at -> Timestamp,
        reason -> Text,
        status -> Text,
        attempts -> Integer,
        due_at -> Timestamp,
        outcome -> Nullable<Text>,
        rating_attitude -> Nullable<Integer>,
        rating_timeliness -> Nullable<Integer>,
        rating_quality -> Nullable<Integer>,
        note -> Nullable<Text>,
        agent_id -> Nullable<Text>,
        completed_at -> Nullable<Timestamp>,
        follow_up_ticket_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    callback_days (day) {
        day -> Text,
        closed_at -> Timestamp,
        resolved -> Integer,
        topped_up -> Integer,
    }
}

diesel::table! {
    complaints (id) {
        id -> Text,
        region_id -> Text,
        district_id -> Text,
        ticket_id -> Nullable<Text>,
        callback_id -> Nullable<Text>,
        source -> Text,
        category -> Text,
        description -> Text,
        customer_name -> Nullable<Text>,
        customer_phone -> Nullable<Text>,
        received_at -> Timestamp,
        created_by -> Text,
        created_at -> Timestamp,
        status -> Text,
        responsible_user_id -> Nullable<Text>,
        deduction -> Nullable<Double>,
        verified_by -> Nullable<Text>,
        verified_at -> Nullable<Timestamp>,
        verification_note -> Nullable<Text>,
        version -> BigInt,
        kind -> Text,
        owner_user_id -> Nullable<Text>,
        handling -> Text,
        hotline_due_at -> Nullable<Timestamp>,
        handle_due_at -> Nullable<Timestamp>,
        handled_on_time -> Nullable<Bool>,
        escalation_level -> Integer,
        next_deadline_at -> Nullable<Timestamp>,
        replied_at -> Nullable<Timestamp>,
        reply -> Nullable<Text>,
        closed_at -> Nullable<Timestamp>,
        reopened -> Integer,
    }
}

diesel::table! {
    complaint_history (id) {
        id -> Text,
        complaint_id -> Text,
        at -> Timestamp,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        action -> Text,
        detail -> Text,
    }
}

diesel::table! {
    district_appraisals (id) {
        id -> Text,
        district_id -> Text,
        month -> Text,
        score -> Double,
        note -> Nullable<Text>,
        recorded_by -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    network_faults (id) {
        id -> Text,
        region_id -> Text,
        district_id -> Nullable<Text>,
        lat -> Nullable<Double>,
        lon -> Nullable<Double>,
        radius_m -> Nullable<Double>,
        cause -> Text,
        title -> Text,
        status -> Text,
        opened_by -> Text,
        opened_at -> Timestamp,
        confirmed_at -> Nullable<Timestamp>,
        confirmed_by -> Nullable<Text>,
        pushed_at -> Nullable<Timestamp>,
        promised_at -> Timestamp,
        estimate_at -> Nullable<Timestamp>,
        restored_at -> Nullable<Timestamp>,
        restore_on_time -> Nullable<Bool>,
        dismissed_at -> Nullable<Timestamp>,
        told_at -> Nullable<Timestamp>,
        told_calls -> Integer,
        updated_at -> Timestamp,
        version -> BigInt,
        crew_lead_id -> Nullable<Text>,
        crew_assigned_at -> Nullable<Timestamp>,
        crew_ack_due_at -> Nullable<Timestamp>,
        crew_acknowledged_at -> Nullable<Timestamp>,
        crew_ack_on_time -> Nullable<Bool>,
    }
}

diesel::table! {
    network_fault_events (id) {
        id -> Text,
        fault_id -> Text,
        at -> Timestamp,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        kind -> Text,
        detail -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    regions,
    household_visits,
    morning_brief_days,
    sms_opt_outs,
    sms_surveys,
    users,
    user_regions,
    districts,
    district_revision,
    refresh_tokens,
    api_keys,
    duty_rotations,
    duty_overrides,
    technician_positions,
    technician_load,
    tickets,
    network_faults,
    network_fault_events,
    ticket_events,
    notifications,
    region_policies,
    user_feed,
    notification_attempts,
    settings,
    sms_platforms,
    assignments,
    postponement_requests,
    webhook_receipts,
    callbacks,
    callback_days,
    complaints,
    complaint_history,
    district_appraisals,
    client_actions,
    list_versions,
    list_changes,
    technician_track,
    photos,
    branches,
    branch_figures,
    org_units,
    unit_members,
    unit_figures,
    staff_appraisals,
);

/// Every table declared above with its columns in declaration order, read back from the SQL
/// diesel generates (so this list cannot drift from the declarations). The schema test compares
/// it with what each migrated database reports.
pub fn declared_tables() -> Vec<(&'static str, Vec<String>)> {
    macro_rules! declared {
        ($($t:ident),* $(,)?) => {
            vec![$((
                stringify!($t),
                select_list(&diesel::debug_query::<diesel::sqlite::Sqlite, _>(
                    &diesel::QueryDsl::select($t::table, $t::all_columns),
                ).to_string()),
            )),*]
        };
    }
    declared!(
        settings,
        callbacks,
        callback_days,
        complaints,
        complaint_history,
        district_appraisals,
        notification_attempts,
        sms_platforms,
        assignments,
        postponement_requests,
        webhook_receipts,
        region_policies,
        user_feed,
        regions,
        users,
        user_regions,
        districts,
        district_revision,
        refresh_tokens,
        api_keys,
        duty_rotations,
        duty_overrides,
        technician_positions,
        technician_load,
        tickets,
        ticket_events,
        notifications,
        client_actions,
        list_versions,
        list_changes,
        technician_track,
        photos,
        branches,
        branch_figures,
        org_units,
        unit_members,
        unit_figures,
        staff_appraisals,
    )
}

/// The column names of "SELECT `t`.`a`, `t`.`b` FROM `t`".
fn select_list(sql: &str) -> Vec<String> {
    let list = sql
        .trim_start_matches("SELECT ")
        .split(" FROM ")
        .next()
        .unwrap_or("");
    list.split(", ")
        .map(|c| {
            c.rsplit('.')
                .next()
                .unwrap_or(c)
                .trim_matches('`')
                .to_string()
        })
        .collect()
}
