import { createSignal, Show } from 'solid-js';
import { createFormAction, reauthFailure } from '../lib/form-action.ts';
import { createQuery } from '../lib/query.ts';
import { type RouterInputs, type RouterOutputs, trpc } from '../lib/trpc.ts';
import { ErrorAlert } from './error-alert.tsx';
import { InputField, SelectField } from './input-field.tsx';
import { Panel, QueryView } from './panel.tsx';
import { PasswordField } from './password-field.tsx';

type Settings = RouterOutputs['agent']['settings']['get'];
type SettingsInput = RouterInputs['agent']['settings']['set'];

/**
 * The desk's decision agent (desk admins): which instruments it watches, how often it may
 * propose (and how long before it may reverse a call), its risk preset, how long a proposal waits for a human, and the mode. Switching mode
 * needs the password again (the server requires a recent re-authentication); autonomous mode
 * is only offered when the platform allows it.
 */
export function AgentSettingsPanel() {
  const settings = createQuery(() => trpc.agent.settings.get.query());
  const { pending, error, run } = createFormAction();
  const [saved, setSaved] = createSignal(false);
  const [modeChanging, setModeChanging] = createSignal(false);

  const save = async (event: SubmitEvent, current: Settings) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget as HTMLFormElement);
    const mode = String(data.get('mode')) as Settings['mode'];
    const input: SettingsInput = {
      instruments: String(data.get('instruments') ?? '')
        .split(/[\s,]+/)
        .map((s) => s.trim().toUpperCase())
        .filter(Boolean),
      maxProposalsPerHour: Number(data.get('maxProposalsPerHour')),
      riskPreset: String(data.get('riskPreset')) as Settings['riskPreset'],
      proposalTtlSeconds: Number(data.get('proposalTtlSeconds')),
      minHoldingSeconds: Number(data.get('minHoldingSeconds')),
      ...(mode !== current.mode ? { mode } : {}),
    };
    setSaved(false);
    await run(async () => {
      if (mode !== current.mode) {
        await trpc.auth.reauthenticate.mutate({ password: String(data.get('password') ?? '') });
      }
      await trpc.agent.settings.set.mutate(input);
      setSaved(true);
      setModeChanging(false);
      await settings.refetch();
    }, reauthFailure);
  };

  return (
    <Panel title="Decision agent" meta="Desk admins">
      <QueryView query={settings} errorTitle="Could not load the agent settings">
        {(s) => (
          <form class="settings-form" onSubmit={(e) => void save(e, s)} aria-label="Decision agent settings">
            <Show when={!s.automationEnabled}>
              <div class="alert alert-error" role="status">
                Automation is off{s.automationDisabledReason ? `: ${s.automationDisabledReason}` : ''}.
              </div>
            </Show>
            <SelectField
              label="Mode"
              id="agent-mode"
              name="mode"
              class="select"
              onChange={(e) => setModeChanging(e.currentTarget.value !== s.mode)}
            >
              <option value="confirmation" selected={s.mode === 'confirmation'}>
                confirmation: a human approves every trade
              </option>
              <option value="autonomous" selected={s.mode === 'autonomous'} disabled={!s.autonomousAllowed}>
                autonomous{s.autonomousAllowed ? '' : ' (not allowed on this platform)'}
              </option>
            </SelectField>
            <div class="field">
              <label for="agent-instruments">Instruments</label>
              <input
                id="agent-instruments"
                name="instruments"
                value={s.instruments.join(', ')}
                autocomplete="off"
              />
              <span class="field-hint">Comma-separated symbols the agent watches and may propose.</span>
            </div>
            <div class="ticket-row">
              <InputField
                label="Max proposals per hour"
                id="agent-rate"
                name="maxProposalsPerHour"
                type="number"
                min="0"
                max="1000"
                value={s.maxProposalsPerHour}
              />
              <InputField
                label="Proposal expires after (s)"
                id="agent-ttl"
                name="proposalTtlSeconds"
                type="number"
                min="10"
                max="86400"
                value={s.proposalTtlSeconds}
              />
            </div>
            <div class="field">
              <label for="agent-holding">Minimum holding time (s)</label>
              <input
                id="agent-holding"
                name="minHoldingSeconds"
                type="number"
                min="0"
                max="86400"
                value={s.minHoldingSeconds}
              />
              <span class="field-hint">
                No opposite proposal on an instrument sooner, unless its stop or target was hit; 0 turns it
                off. The hourly budget is spread over the hour, the best-scored signals first.
              </span>
            </div>
            <SelectField label="Risk preset" id="agent-preset" name="riskPreset" class="select">
              <option value="conservative" selected={s.riskPreset === 'conservative'}>
                conservative
              </option>
              <option value="balanced" selected={s.riskPreset === 'balanced'}>
                balanced
              </option>
              <option value="aggressive" selected={s.riskPreset === 'aggressive'}>
                aggressive
              </option>
            </SelectField>
            <Show when={modeChanging()}>
              <PasswordField id="agent-password" label="Your password (required to switch mode)" />
            </Show>
            <ErrorAlert message={error()} />
            <Show when={saved()}>
              <div class="alert alert-info" role="status">
                Saved.
              </div>
            </Show>
            <button type="submit" class="btn btn-primary" disabled={pending()}>
              {pending() ? 'Saving…' : 'Save agent settings'}
            </button>
          </form>
        )}
      </QueryView>
    </Panel>
  );
}

/** The desk's mode, in the top bar: whether trades wait for a human. */
export function ModeBadge() {
  const settings = createQuery(() => trpc.agent.settings.get.query(), { pollMs: 30_000 });
  const label = () => {
    const s = settings.state();
    return s.status === 'ready' ? s.data.mode : s.status === 'error' ? 'mode n/a' : '';
  };
  return (
    <span
      class={`role-badge mode-badge ${label() === 'autonomous' ? 'mode-autonomous' : ''}`}
      title="Decision agent mode of this desk"
    >
      {label()}
    </span>
  );
}
