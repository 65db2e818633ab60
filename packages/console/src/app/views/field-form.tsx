import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';

interface FieldFormProps {
  /** The input's id or class: how the page's tests and styles find it. */
  id?: string;
  class?: string;
  placeholder?: string;
  initial?: string;
  /** The submit button's label. */
  submit: string;
  /** Gets what the input holds; `clear` empties it (e.g. once a message is sent). */
  onSubmit(value: string, clear: () => void): void;
  /** What follows the button inside the form. */
  children?: ComponentChildren;
}

/** A form of one text input, which keeps its own draft, and its submit button (Enter in the input submits too). */
export function FieldForm(props: FieldFormProps) {
  const [draft, setDraft] = useState(props.initial ?? '');
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        props.onSubmit(draft, () => setDraft(''));
      }}
    >
      <input
        id={props.id}
        class={props.class}
        placeholder={props.placeholder}
        value={draft}
        onInput={(event) => setDraft(event.currentTarget.value)}
      />
      <button type="submit">{props.submit}</button>
      {props.children}
    </form>
  );
}
