// Accessibility patch for Dash 4.4.1 controls, loaded by Dash on every page (assets/*.js).
(function () {
    // Dash 4.4.1 renders dcc.RadioItems as role=listbox with role=option labels that contain
    // the radio inputs (axe: nested-interactive, aria-input-field-name, aria-allowed-role),
    // and dcc.Dropdown's keyboard focus target as a focusable input with aria-hidden=true
    // (axe: aria-hidden-focus). Give the radios back their native semantics, named by their
    // fieldset's legend, and name the focus target by the control's <label> and its value.
    // A MutationObserver re-applies this whenever Dash re-renders the controls.
    function patch(root) {
        root.querySelectorAll('.dash-options-list[role="listbox"]').forEach(function (group) {
            var radios = group.classList.contains('dash-radioitems');
            group.setAttribute('role', radios ? 'radiogroup' : 'group');
            var fieldset = group.closest('fieldset');
            var legend = fieldset && fieldset.querySelector('legend');
            if (legend) {
                if (!legend.id) { legend.id = group.id + '-legend'; }
                group.setAttribute('aria-labelledby', legend.id);
            }
        });
        root.querySelectorAll(
            '.dash-options-list [role="option"], .dash-options-list [aria-selected]'
        ).forEach(function (o) {
            o.removeAttribute('role');
            o.removeAttribute('aria-selected');
        });
        root.querySelectorAll('.dash-dropdown-focus-target[aria-hidden="true"]').forEach(
            function (target) {
                var button = target.parentElement &&
                    target.parentElement.querySelector('button.dash-dropdown');
                target.removeAttribute('aria-hidden');
                if (!button) { return; }
                var label = document.querySelector('label[for="' + button.id + '"]');
                if (label && !label.id) { label.id = button.id + '-label'; }
                var names = [label ? label.id : '', button.id + '-value'].filter(Boolean);
                target.setAttribute('aria-labelledby', names.join(' '));
            });
    }
    // The open dropdown's popover is a role=dialog with no name (axe: aria-dialog-name): name
    // it by the control's <label>, found through the trigger button that controls it.
    function nameDialogs(root) {
        root.querySelectorAll('[role="dialog"]:not([aria-label]):not([aria-labelledby])')
            .forEach(function (dialog) {
                var trigger = dialog.id &&
                    document.querySelector('[aria-controls="' + CSS.escape(dialog.id) + '"]');
                var label = trigger && trigger.id &&
                    document.querySelector('label[for="' + CSS.escape(trigger.id) + '"]');
                if (label) {
                    if (!label.id) { label.id = trigger.id + '-label'; }
                    dialog.setAttribute('aria-labelledby', label.id);
                } else {
                    dialog.setAttribute('aria-label', 'Options');
                }
            });
    }
    function start() {
        patch(document);
        nameDialogs(document);
        if (!window.cjsA11yObserver) {
            window.cjsA11yObserver = new MutationObserver(function () {
                patch(document);
                nameDialogs(document);
            });
            window.cjsA11yObserver.observe(document.body, {
                subtree: true, childList: true, attributes: true,
                attributeFilter: ['role', 'aria-selected', 'aria-hidden']});
        }
    }
    if (document.readyState === 'loading') {
        document.addEventListener('DOMContentLoaded', start);
    } else {
        start();
    }
})();
