/* mod_auth_ipsie: the session-expiring warning (IPSIESessionWarning On). Pages of a protected
 * location load it from <IPSIERedirectURI>?warning.js=<version>. Before the session's ceiling
 * and before its idle deadline it shows a modal dialog; the tabs of the site keep in step; at
 * the ceiling the tab goes to a fresh sign-in that returns to the page. It reads the session
 * from ?info=json (which is not activity) and touches it only when the user chooses to stay
 * signed in (POST ?touch). No inline script or style anywhere: it works under
 * Content-Security-Policy "script-src 'self'; style-src 'self'". */
(function () {
    'use strict';

    var script = document.currentScript;
    if (window.ipsieSessionWarning || !script || !script.src || typeof fetch !== 'function') {
        return; /* added twice, or a browser without what it needs */
    }

    var src = new URL(script.src, location.href);
    var endpoint = src.origin + src.pathname; /* the redirect URI */
    var version = src.searchParams.get('warning.js') || '';
    var POLL_MS = 10000; /* while a warning shows, the session is looked at again this often */
    var RETRY_MS = 5000; /* after a failed look */
    var LONGEST_WAIT_MS = 86400000;
    var SAME_DEADLINE_MS = 2500; /* deadlines read from whole seconds move a little */

    var state = null; /* { ceilingAt, idleAt, lead, idleLead }: milliseconds, this browser's clock */
    var dismissed = null; /* { kind, deadline }: the warning the user put away */
    var timer = null;
    var view = null; /* what the dialog shows: one of VIEWS */
    var ui = null; /* the dialog's elements, made when first shown */
    var returnFocus = null;
    var busy = false;
    var modal = false; /* the dialog is the browser's modal one (showModal) */
    var channel = typeof BroadcastChannel === 'function'
        ? new BroadcastChannel('ipsie-session-warning ' + endpoint) : null;

    window.ipsieSessionWarning = {
        /* For the curious and for tests: what this tab knows. */
        state: function () { return state; },
        view: function () { return view ? view.name : null; }
    };

    function url(query) {
        return endpoint + '?' + query;
    }

    function here() {
        return location.pathname + location.search + location.hash;
    }

    function pad(n) {
        return (n < 10 ? '0' : '') + n;
    }

    /* HH:MM in this browser's local time. */
    function hhmm(ms) {
        var d = new Date(ms);
        return pad(d.getHours()) + ':' + pad(d.getMinutes());
    }

    /* A request to the redirect URI as a script makes it: answers are JSON, never a redirect. */
    function call(method, query) {
        return fetch(url(query), {
            method: method,
            credentials: 'same-origin',
            cache: 'no-store',
            redirect: 'error',
            headers: { Accept: 'application/json', 'X-Requested-With': 'XMLHttpRequest' }
        }).then(function (res) {
            return res.json().then(function (body) {
                return { status: res.status, body: body || {} };
            }, function () {
                return { status: res.status, body: {} };
            });
        });
    }

    /* The session as ?info=json or ?touch describe it, on this browser's clock. */
    function fromInfo(info) {
        var now = Date.now();
        var lead = Math.max(1, Number(info.warning_lead) || 60) * 1000;
        var timeout = Number(info.inactivity_timeout) * 1000;
        return {
            ceilingAt: now + Number(info.remaining) * 1000,
            idleAt: now + Number(info.idle_remaining) * 1000,
            lead: lead,
            /* A page just loaded is not idle: the idle warning takes at most half the timeout. */
            idleLead: timeout > 0 ? Math.min(lead, timeout / 2) : lead
        };
    }

    function tell(message) {
        if (channel) {
            channel.postMessage(message);
        }
    }

    function wait(ms, then) {
        clearTimeout(timer);
        timer = setTimeout(then, Math.max(0, Math.min(ms, LONGEST_WAIT_MS)));
    }

    /* A fresh reading of the session from the server, shared with the other tabs. */
    function adopt(info) {
        state = fromInfo(info);
        tell({ type: 'state', state: state });
        if (view && view.ended) {
            hide();
        }
        decide();
    }

    /* The server says there is no valid session (error: session_expired, session_idle,
     * login_required). */
    function ended(error) {
        var atCeiling = error === 'session_expired'
            || (error === 'login_required' && state && Date.now() >= state.ceilingAt - SAME_DEADLINE_MS);
        clearTimeout(timer);
        state = null;
        if (atCeiling) {
            reachedCeiling();
        } else if (error === 'session_idle') {
            show(VIEWS.idleEnded);
        } else {
            show(VIEWS.signedOut);
        }
    }

    /* At the ceiling a tab in view goes to a fresh sign-in at once, rather than let the user
     * lose a form to it; a hidden tab says so and goes when it is looked at. */
    function reachedCeiling() {
        if (document.visibilityState === 'hidden') {
            show(VIEWS.ceilingEnded);
        } else {
            signInAgain();
        }
    }

    /* Ask the server how the session stands (not activity), then decide. */
    function look() {
        call('GET', 'info=json').then(function (res) {
            if (res.status === 200) {
                adopt(res.body);
            } else if (res.status === 401) {
                ended(res.body.error);
            } else {
                wait(RETRY_MS, look);
            }
        }, function () {
            wait(RETRY_MS, look);
        });
    }

    function isDismissed(kind, deadline) {
        return dismissed !== null && dismissed.kind === kind
            && Math.abs(dismissed.deadline - deadline) < SAME_DEADLINE_MS;
    }

    /* What to show now and when to look again, from state alone. */
    function decide() {
        var now = Date.now();
        var idleFirst, deadline, lead, warning;

        clearTimeout(timer);
        if (state === null) {
            return;
        }
        idleFirst = state.idleAt < state.ceilingAt;
        deadline = idleFirst ? state.idleAt : state.ceilingAt;
        lead = idleFirst ? state.idleLead : state.lead;
        warning = idleFirst ? VIEWS.idle : VIEWS.ceiling;
        if (now >= deadline) {
            look(); /* the server says what the deadline did */
            return;
        }
        if (now < deadline - lead) {
            if (view && view.warning) {
                hide(); /* a deadline that moved away, by activity here or in another tab */
            }
            wait(deadline - lead - now, look);
            return;
        }
        if (isDismissed(warning.name, deadline)) {
            if (view === warning) {
                hide();
            }
        } else {
            show(warning, deadline);
        }
        wait(Math.min(deadline - now, POLL_MS), look);
    }

    /* The user's choices. */
    function signInAgain() {
        location.assign(url('reauth=' + encodeURIComponent(here())));
    }

    function reloadPage() {
        /* A GET of the page (without its fragment, which would only scroll): the module signs
         * the user in as usual. */
        location.assign(location.href.split('#')[0]);
    }

    function signOut() {
        location.assign(url('logout='));
    }

    function staySignedIn() {
        if (busy) {
            return;
        }
        busy = true;
        status('');
        call('POST', 'touch').then(function (res) {
            busy = false;
            if (res.status === 200) {
                hide();
                adopt(res.body);
            } else if (res.status === 401) {
                ended(res.body.error);
            } else {
                status('This site cannot be reached right now. Please try again.');
            }
        }, function () {
            busy = false;
            status('This site cannot be reached right now. Please try again.');
        });
    }

    function putAway() {
        if (view === VIEWS.ceiling && state !== null) {
            dismissed = { kind: view.name, deadline: state.ceilingAt };
            tell({ type: 'dismiss', dismissed: dismissed });
        }
        hide();
    }

    var VIEWS = {
        ceiling: {
            name: 'ceiling',
            warning: true,
            title: 'Your sign-in ends soon',
            message: function (deadline) {
                return 'Your sign-in ends at ' + hhmm(deadline) + ' \u2014 sign in again now to '
                    + 'keep working without losing what you are doing.';
            },
            primary: ['Sign in again now', signInAgain],
            secondary: ['Not now', putAway],
            cancel: putAway
        },
        idle: {
            name: 'idle',
            warning: true,
            title: 'Are you still there?',
            message: function (deadline) {
                return 'You will be signed out at ' + hhmm(deadline)
                    + ' because you have not been active.';
            },
            primary: ['Stay signed in', staySignedIn],
            secondary: ['Sign out', signOut],
            cancel: staySignedIn /* a key pressed: the user is there */
        },
        idleEnded: {
            name: 'idle-ended',
            ended: true,
            title: 'You were signed out',
            message: function () {
                return 'You were signed out because you were not active for a while. Sign in '
                    + 'again to continue.';
            },
            primary: ['Sign in again', reloadPage],
            secondary: ['Close', hide],
            cancel: hide
        },
        ceilingEnded: {
            name: 'ceiling-ended',
            ended: true,
            title: 'Your sign-in has ended',
            message: function () {
                return 'Your sign-in reached the limit set by your identity provider. Sign in '
                    + 'again to continue.';
            },
            primary: ['Sign in again', signInAgain],
            secondary: ['Close', hide],
            cancel: hide
        },
        signedOut: {
            name: 'signed-out',
            ended: true,
            title: 'You are signed out',
            message: function () {
                return 'You are no longer signed in to this site.';
            },
            primary: ['Sign in again', reloadPage],
            secondary: ['Close', hide],
            cancel: hide
        }
    };

    /* The dialog: made with DOM calls, styled by ?warning.css (classes only, no style
     * attribute), modal, labelled, with the focus kept inside while it shows. */
    function make() {
        var dialog = document.createElement('dialog');
        var title = document.createElement('h2');
        var message = document.createElement('p');
        var note = document.createElement('p');
        var actions = document.createElement('div');
        var primary = document.createElement('button');
        var secondary = document.createElement('button');

        dialog.className = 'ipsie-warning';
        dialog.setAttribute('role', 'dialog');
        dialog.setAttribute('aria-modal', 'true');
        dialog.setAttribute('aria-labelledby', 'ipsie-warning-title');
        dialog.setAttribute('aria-describedby', 'ipsie-warning-message');
        title.id = 'ipsie-warning-title';
        title.className = 'ipsie-warning-title';
        message.id = 'ipsie-warning-message';
        message.className = 'ipsie-warning-message';
        note.className = 'ipsie-warning-status';
        note.setAttribute('role', 'status');
        actions.className = 'ipsie-warning-actions';
        primary.type = 'button';
        primary.className = 'ipsie-warning-primary';
        secondary.type = 'button';
        secondary.className = 'ipsie-warning-secondary';
        actions.appendChild(primary);
        actions.appendChild(secondary);
        dialog.appendChild(title);
        dialog.appendChild(message);
        dialog.appendChild(note);
        dialog.appendChild(actions);
        document.body.appendChild(dialog);

        primary.addEventListener('click', function () {
            if (view) {
                view.primary[1]();
            }
        });
        secondary.addEventListener('click', function () {
            if (view) {
                view.secondary[1]();
            }
        });
        /* Escape: the browser's cancel of a modal dialog, done the view's way. */
        dialog.addEventListener('cancel', function (e) {
            e.preventDefault();
            if (view) {
                view.cancel();
            }
        });
        /* Closed by the browser itself (a repeated Escape): the view is gone too. */
        dialog.addEventListener('close', function () {
            if (view) {
                view = null;
                restoreFocus();
            }
        });
        dialog.addEventListener('keydown', function (e) {
            var buttons = [primary, secondary];
            var i = buttons.indexOf(document.activeElement);
            if (e.key === 'Escape' && !modal) {
                e.preventDefault();
                if (view) {
                    view.cancel();
                }
            } else if (e.key === 'Tab') {
                /* The focus goes round the dialog's buttons and never leaves it. */
                e.preventDefault();
                if (i === -1) {
                    primary.focus();
                } else {
                    buttons[(i + (e.shiftKey ? buttons.length - 1 : 1)) % buttons.length].focus();
                }
            }
        });
        return { dialog: dialog, title: title, message: message, note: note, primary: primary,
            secondary: secondary };
    }

    function status(text) {
        if (ui) {
            ui.note.textContent = text;
        }
    }

    function show(next, deadline) {
        var fresh = view !== next;
        if (!document.body) {
            return;
        }
        if (ui === null) {
            ui = make();
        }
        view = next;
        ui.title.textContent = next.title;
        ui.message.textContent = next.message(deadline);
        ui.primary.textContent = next.primary[0];
        ui.secondary.textContent = next.secondary[0];
        ui.dialog.setAttribute('data-view', next.name);
        if (!ui.dialog.open) {
            if (!ui.dialog.contains(document.activeElement)) {
                returnFocus = document.activeElement;
            }
            status('');
            modal = typeof ui.dialog.showModal === 'function';
            if (modal) {
                ui.dialog.showModal();
            } else {
                ui.dialog.setAttribute('open', '');
            }
        }
        if (fresh) {
            ui.primary.focus();
        }
    }

    function restoreFocus() {
        var target = returnFocus;
        returnFocus = null;
        if (target && target !== document.body && document.contains(target)
            && typeof target.focus === 'function') {
            target.focus();
        }
    }

    function hide() {
        view = null;
        if (ui && ui.dialog.open) {
            ui.dialog.close();
            restoreFocus();
        }
    }

    /* Another tab read the session (a page loaded, the user stayed signed in) or put a
     * warning away: this one follows. */
    if (channel) {
        channel.onmessage = function (e) {
            var m = e.data || {};
            if (m.type === 'state' && m.state) {
                state = m.state;
                if (view && view.ended) {
                    hide(); /* signed in again in another tab */
                }
                decide();
            } else if (m.type === 'dismiss' && m.dismissed) {
                dismissed = m.dismissed;
                decide();
            }
        };
    }

    /* The stylesheet now, so that it is there when the dialog shows. */
    (function () {
        var link = document.createElement('link');
        link.rel = 'stylesheet';
        link.href = url('warning.css=' + encodeURIComponent(version));
        (document.head || document.documentElement).appendChild(link);
    }());

    /* A tab brought back to view looks again: its timers may have been slowed while hidden. */
    document.addEventListener('visibilitychange', function () {
        if (document.visibilityState === 'visible') {
            if (view === VIEWS.ceilingEnded) {
                signInAgain();
            } else {
                look();
            }
        }
    });

    look();
}());
