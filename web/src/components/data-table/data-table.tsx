import { createSignal, For, type JSX, Show } from 'solid-js';
import { EmptyState } from '../panel.tsx';
import './data-table.css';

/**
 * How a column behaves when the table's box gets narrow. 1: always shown; 2: hidden below
 * 640 px of table width; 3: hidden below 1040 px. Hidden fields stay readable in the row's
 * details line (the ▸ toggle that appears once something is hidden). The thresholds are
 * container queries on the table's own box, so a table in a narrow column folds the same way as
 * one on a phone, and the server renders exactly what the browser shows.
 */
export type ColumnPriority = 1 | 2 | 3;

export interface Column<T> {
  /** Stable id: `data-col` on every cell of the column. */
  readonly id: string;
  /** Header text (also the label of the field in the details line). */
  readonly header: string;
  /** Header shown instead of `header` (e.g. visually hidden text); `header` stays the label. */
  readonly headerContent?: JSX.Element;
  readonly cell: (row: T, index: number) => JSX.Element;
  /** Right-aligned, monospaced, tabular figures. */
  readonly numeric?: boolean;
  readonly priority?: ColumnPriority;
  /** Long text (reasons, notes): wraps onto more lines instead of being cut with an ellipsis. */
  readonly wrap?: boolean;
  /** The cell is the row's header (`<th scope="row">`). */
  readonly rowHeader?: boolean;
  readonly class?: string | ((row: T) => string | undefined);
  readonly title?: (row: T) => string | undefined;
  /** Extra attributes of the cell (data-*, aria-*). */
  readonly attrs?: (row: T) => Record<string, string | undefined>;
  /** Header tooltip: what the column means. */
  readonly help?: string;
  /** Extra class of the header cell. */
  readonly headerClass?: string;
}

export interface DataTableProps<T> {
  /** Accessible name (a visually hidden caption, unless `caption` shows one). */
  readonly label: string;
  /** A visible caption instead of the hidden one. */
  readonly caption?: JSX.Element;
  readonly columns: readonly Column<T>[];
  readonly rows: readonly T[];
  /** Actions of a row (buttons): a sticky column on the right edge, never scrolled out of view. */
  readonly actions?: (row: T, index: number) => JSX.Element;
  readonly actionsLabel?: string;
  /**
   * Called on a click on the row (outside its buttons, links and inputs) and on Enter while the
   * row has the keyboard focus; rows become focusable when this is set.
   */
  readonly onRowClick?: (row: T, event: MouseEvent | KeyboardEvent) => void;
  /** Attributes of each row (data-*, aria-selected, class). */
  readonly rowAttrs?: (row: T, index: number) => Record<string, string | undefined>;
  readonly rowClass?: (row: T, index: number) => string | undefined;
  /** Shown instead of the table when there are no rows. */
  readonly empty?: string;
  readonly emptyText?: JSX.Element;
  /** Rows not loaded yet: a fixed-height skeleton in place of the body. */
  readonly loading?: boolean;
  /** Fill the parent's height (a panel body of fixed height) and scroll inside it. */
  readonly fill?: boolean;
  /** Denser rows (22 px) for side panels. */
  readonly dense?: boolean;
  readonly class?: string;
  readonly foot?: JSX.Element;
  /** Attributes of the <table> (data-*, ids tests and scripts look up). */
  readonly tableAttrs?: Record<string, string | undefined>;
}

const INTERACTIVE = 'button, a, input, select, textarea, label, summary, [role="button"]';

function classOf<T>(column: Column<T>, row: T): string {
  const parts = ['dt-cell'];
  if (column.numeric) parts.push('num');
  if (column.wrap) parts.push('dt-wrap');
  if ((column.priority ?? 1) > 1) parts.push(`dt-p${column.priority}`);
  const extra = typeof column.class === 'function' ? column.class(row) : column.class;
  if (extra) parts.push(extra);
  return parts.join(' ');
}

/**
 * The console's table: column priorities that fold on narrow screens into a details line,
 * a sticky action column, a visible horizontal scrollbar when the table must scroll, tabular
 * figures, focusable clickable rows, and empty and loading states.
 */
export function DataTable<T>(props: DataTableProps<T>) {
  const hasPriority = (p: ColumnPriority) => props.columns.some((c) => (c.priority ?? 1) === p);
  const folded = () => props.columns.filter((c) => (c.priority ?? 1) > 1);
  const span = () => props.columns.length + (props.actions ? 1 : 0) + (folded().length > 0 ? 1 : 0);
  const tableClass = () =>
    [
      'table',
      'dt',
      hasPriority(2) ? 'dt-has-p2' : '',
      hasPriority(3) ? 'dt-has-p3' : '',
      props.dense ? 'table-tight' : '',
      props.onRowClick ? 'dt-clickable' : '',
      props.class ?? '',
    ]
      .filter(Boolean)
      .join(' ');

  const activate = (row: T, event: MouseEvent | KeyboardEvent) => {
    if (!props.onRowClick) return;
    const target = event.target as Element | null;
    if (target && target !== event.currentTarget && target.closest(INTERACTIVE)) return;
    props.onRowClick(row, event);
  };

  return (
    // Focusable scroll box: a keyboard user can scroll a wide table with the arrow keys.
    // biome-ignore lint/a11y/useSemanticElements: a scroll box around a table, not a form group
    <div
      class={`dt-scroll ${props.fill ? 'dt-fill' : ''}`}
      tabindex="0"
      role="group"
      aria-label={props.label}
    >
      <Show
        when={!props.loading}
        fallback={
          <div class="skeleton dt-skeleton" role="status" aria-busy="true">
            <span class="visually-hidden">Loading {props.label}</span>
          </div>
        }
      >
        <Show
          when={props.rows.length > 0}
          fallback={<EmptyState title={props.empty ?? 'Nothing to show'}>{props.emptyText}</EmptyState>}
        >
          <table class={tableClass()} {...(props.tableAttrs ?? {})}>
            <Show when={props.caption} fallback={<caption class="visually-hidden">{props.label}</caption>}>
              <caption class="dt-caption">{props.caption}</caption>
            </Show>
            <thead>
              <tr>
                <Show when={folded().length > 0}>
                  <th scope="col" class="dt-expand">
                    <span class="visually-hidden">Details</span>
                  </th>
                </Show>
                <For each={props.columns}>
                  {(column) => (
                    <th
                      scope="col"
                      class={[
                        column.numeric ? 'num' : '',
                        (column.priority ?? 1) > 1 ? `dt-p${column.priority}` : '',
                        column.wrap ? 'dt-wrap' : '',
                        column.headerClass ?? '',
                      ]
                        .filter(Boolean)
                        .join(' ')}
                      data-col={column.id}
                      title={column.help}
                    >
                      {column.headerContent ?? column.header}
                    </th>
                  )}
                </For>
                <Show when={props.actions}>
                  <th scope="col" class="dt-actions">
                    <span class="visually-hidden">{props.actionsLabel ?? 'Actions'}</span>
                  </th>
                </Show>
              </tr>
            </thead>
            <tbody>
              <For each={props.rows}>
                {(row, index) => (
                  <Row
                    row={row}
                    index={index()}
                    table={props}
                    folded={folded()}
                    span={span()}
                    activate={activate}
                  />
                )}
              </For>
            </tbody>
            <Show when={props.foot}>
              <tfoot>{props.foot}</tfoot>
            </Show>
          </table>
        </Show>
      </Show>
    </div>
  );
}

function Row<T>(props: {
  row: T;
  index: number;
  table: DataTableProps<T>;
  folded: readonly Column<T>[];
  span: number;
  activate: (row: T, event: MouseEvent | KeyboardEvent) => void;
}) {
  const [open, setOpen] = createSignal(false);
  const clickable = () => props.table.onRowClick !== undefined;
  const attrs = () => props.table.rowAttrs?.(props.row, props.index) ?? {};
  const rowClass = () =>
    [clickable() ? 'selectable' : '', props.table.rowClass?.(props.row, props.index) ?? '']
      .filter(Boolean)
      .join(' ') || undefined;
  return (
    <>
      <tr
        {...attrs()}
        class={rowClass()}
        tabindex={clickable() ? 0 : undefined}
        onClick={(e) => props.activate(props.row, e)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && e.target === e.currentTarget) {
            e.preventDefault();
            props.activate(props.row, e);
          }
        }}
      >
        <Show when={props.folded.length > 0}>
          <td class="dt-expand">
            <button
              type="button"
              class="dt-toggle"
              aria-expanded={open() ? 'true' : 'false'}
              aria-label={open() ? 'Hide details' : 'Show details'}
              title={open() ? 'Hide the hidden columns' : 'Show the columns hidden at this width'}
              onClick={() => setOpen(!open())}
            >
              <span aria-hidden="true">{open() ? '▾' : '▸'}</span>
            </button>
          </td>
        </Show>
        <For each={props.table.columns}>
          {(column) => {
            const cellProps = () => ({
              class: classOf(column, props.row),
              'data-col': column.id,
              title: column.title?.(props.row),
              ...(column.attrs?.(props.row) ?? {}),
            });
            return column.rowHeader ? (
              <th scope="row" {...cellProps()}>
                {column.cell(props.row, props.index)}
              </th>
            ) : (
              <td {...cellProps()}>{column.cell(props.row, props.index)}</td>
            );
          }}
        </For>
        <Show when={props.table.actions}>
          {(actions) => <td class="dt-actions actions">{actions()(props.row, props.index)}</td>}
        </Show>
      </tr>
      <Show when={open()}>
        <tr class="dt-detail">
          <td colspan={props.span}>
            <dl class="dt-fields">
              <For each={props.folded}>
                {(column) => (
                  <div class={`dt-field dt-d-p${column.priority}`}>
                    <dt>{column.header}</dt>
                    <dd class={column.numeric ? 'num' : undefined}>{column.cell(props.row, props.index)}</dd>
                  </div>
                )}
              </For>
            </dl>
          </td>
        </tr>
      </Show>
    </>
  );
}
