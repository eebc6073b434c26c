//! Who may see a dialog (F33), in SQL: the one place the rule is written for queries, beside
//! its twin in the core (`Viewer::may_see`). `$1` is always the viewer's manager id and `d` the
//! dialog. Administrators see every dialog; a manager sees their own and the unassigned ones
//! (a bot's dialog is not unassigned). Deleted dialogs are hidden by each query's own
//! `d.deleted_at IS NULL`, which every index of the list carries.

use beseda_core::dialog::Viewer;

/// The dialog is the viewer's own.
pub(super) const OWN: &str = "d.responsible_manager_id = $1";

/// Nobody is responsible for the dialog.
pub(super) const UNASSIGNED: &str =
    "(d.responsible_manager_id IS NULL AND d.responsible_bot_id IS NULL)";

/// The dialogs `viewer` may see.
pub(super) fn visible(viewer: Viewer) -> String {
    if viewer.sees_all {
        "TRUE".into()
    } else {
        format!("({OWN} OR {UNASSIGNED})")
    }
}

/// The same rule read off a row that keeps the dialog's holder (`dialog_tags`, `tag_counters`:
/// the manager's id, 0 for nobody, -1 for a bot; kept by the triggers of migration 0005), so a
/// walk of those rows needs no dialog to decide. `None`: the viewer sees every row.
pub(super) fn visible_holder(viewer: Viewer, alias: &str) -> Option<String> {
    (!viewer.sees_all).then(|| format!("{alias}.holder IN ($1, 0)"))
}
