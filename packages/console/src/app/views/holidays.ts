import { useEffect, useState } from 'preact/hooks';
import { call } from '../admin';

/** A public holiday as GET /holidays answers it: whole days, `end` exclusive. */
export interface Holiday {
  name: string;
  start: string;
  end: string;
  substitute?: boolean;
}

export interface Country {
  code: string;
  name: string;
}

const DAY_MS = 86_400_000;

/** The countries GET /holidays/countries knows (empty until it answers, or when it fails). */
export function useCountries(httpApi: string): { countries: Country[]; problem: string } {
  const [countries, setCountries] = useState<Country[]>([]);
  const [problem, setProblem] = useState('');
  useEffect(() => {
    call<{ countries: Country[] }>(`${httpApi}/holidays/countries`).then(
      (answer) => setCountries([...answer.countries].sort((a, b) => a.name.localeCompare(b.name))),
      (error: unknown) => setProblem(`holidays: ${error instanceof Error ? error.message : String(error)}`),
    );
  }, [httpApi]);
  return { countries, problem };
}

/** The public holidays of `country` in the years the window [from, to) touches (none without a country). */
export function useHolidays(httpApi: string, country: string, from: number, to: number) {
  const [holidays, setHolidays] = useState<Holiday[]>([]);
  const [problem, setProblem] = useState('');
  const firstYear = new Date(from).getUTCFullYear();
  const lastYear = new Date(to - 1).getUTCFullYear();
  useEffect(() => {
    setHolidays([]);
    setProblem('');
    if (country === '') return;
    let current = true;
    const years = firstYear === lastYear ? [firstYear] : [firstYear, lastYear];
    const query = (year: number) =>
      call<{ holidays: Holiday[] }>(
        `${httpApi}/holidays?${new URLSearchParams({ country, year: String(year) }).toString()}`,
      );
    Promise.all(years.map(query)).then(
      (answers) => {
        if (current) setHolidays(answers.flatMap((answer) => answer.holidays));
      },
      (error: unknown) => {
        if (current) setProblem(`holidays: ${error instanceof Error ? error.message : String(error)}`);
      },
    );
    return () => {
      current = false;
    };
  }, [httpApi, country, firstYear, lastYear]);
  return { holidays, problem };
}

/** Whether a holiday covers any part of the UTC day starting at `dayStart`. */
export function holidayOn(holiday: Holiday, dayStart: number): boolean {
  const start = Date.parse(`${holiday.start}T00:00:00Z`);
  const end = Date.parse(`${holiday.end}T00:00:00Z`);
  return start < dayStart + DAY_MS && end > dayStart;
}
