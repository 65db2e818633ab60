import type { ComponentChildren } from 'preact';

/** A column heading: its label, or a label with a tooltip that explains it. */
export type Heading = string | { label: string; title: string };

/** A table with one row of column headings; its rows are the children. */
export function HeadedTable(props: { id: string; headings: Heading[]; children: ComponentChildren }) {
  return (
    <table id={props.id}>
      <thead>
        <tr>
          {props.headings.map((heading) =>
            typeof heading === 'string' ? (
              <th key={heading}>{heading}</th>
            ) : (
              <th key={heading.label} title={heading.title}>
                {heading.label}
              </th>
            ),
          )}
        </tr>
      </thead>
      <tbody>{props.children}</tbody>
    </table>
  );
}
