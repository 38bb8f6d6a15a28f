//! Property tests of the money arithmetic (tests only): costs never wrap, the worst case
//! covers every usage within its bounds, billing never passes a cap, and no sequence of
//! reservations and settlements lets a budget be overspent.

use crate::api::usage::Usage;
use crate::budget::{worst_case_nano, BudgetLedger, Payer};
use crate::config::{KeyConfig, Price};
use crate::pipeline::meter::bill;
use proptest::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;

fn price() -> impl Strategy<Value = Price> {
    let rate = prop_oneof![0u64..1_000_000_000_000, any::<u64>()];
    (rate.clone(), rate.clone(), rate.clone(), rate, 0u64..1_000_000_000).prop_map(
        |(prompt, completion, cached_prompt, reasoning, request_nano)| Price {
            prompt,
            completion,
            cached_prompt,
            reasoning,
            request_nano,
            unpriced: false,
        },
    )
}

fn tokens() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..100_000, any::<u64>(), Just(u64::MAX)]
}

fn usage() -> impl Strategy<Value = Usage> {
    (tokens(), tokens(), tokens(), tokens()).prop_map(|(prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens)| Usage {
        prompt_tokens,
        completion_tokens,
        cached_tokens,
        reasoning_tokens,
    })
}

proptest! {
    #[test]
    fn cost_is_monotonic_in_tokens_and_never_wraps(u in usage(), p in price(), more in 1u64..1_000_000) {
        let cost = u.cost_nano(&p);
        let bigger = Usage { completion_tokens: u.completion_tokens.saturating_add(more), ..u };
        prop_assert!(bigger.cost_nano(&p) >= cost, "more output never costs less");
        let dearer = Price { completion: p.completion.saturating_add(1), reasoning: p.reasoning.saturating_add(1), ..p };
        prop_assert!(u.cost_nano(&dearer) >= cost, "a dearer rate never costs less");
        prop_assert!(u.total_tokens() >= u.prompt_tokens.max(u.completion_tokens));
    }

    #[test]
    fn the_worst_case_covers_every_usage_within_its_bounds(
        prompt_bound in tokens(), output_bound in tokens(), prices in prop::collection::vec(price(), 1..4),
        prompt_frac in 0.0f64..=1.0, output_frac in 0.0f64..=1.0, cached_frac in 0.0f64..=1.0, which in 0usize..4,
    ) {
        let prompt_tokens = (prompt_bound as f64 * prompt_frac) as u64;
        let completion_tokens = (output_bound as f64 * output_frac) as u64;
        let u = Usage { prompt_tokens, completion_tokens, cached_tokens: (prompt_tokens as f64 * cached_frac) as u64, reasoning_tokens: completion_tokens / 2 };
        let worst = worst_case_nano(prompt_bound, output_bound, &prices);
        prop_assert!(worst >= u.cost_nano(&prices[which % prices.len()]));
    }

    #[test]
    fn a_bill_never_passes_its_cap_and_an_implausible_report_is_never_billed(
        reported in prop::option::of(usage()), estimate in usage(), p in price(), cap in prop::option::of(any::<u64>()),
    ) {
        let b = bill(reported, || estimate, &p, cap);
        if let Some(cap) = cap {
            prop_assert!(b.cost_nano <= cap);
        }
        match reported {
            Some(r) if !r.is_plausible() => {
                prop_assert_eq!(b.usage, estimate);
                prop_assert!(b.note.as_deref().is_some_and(|n| n.contains("upstream_usage_invalid")));
            }
            Some(r) => prop_assert_eq!(b.usage, r),
            None => prop_assert_eq!(b.usage, estimate),
        }
    }

    /// Requests reserve, extend and settle in any order and with any amounts (honest
    /// settlements at most what was reserved): the settled spend never passes the limit.
    #[test]
    fn no_sequence_of_reservations_overspends_a_budget(
        limit in prop_oneof![0u64..1_000_000, any::<u64>()],
        steps in prop::collection::vec((tokens(), tokens(), any::<bool>(), 0.0f64..=1.0), 1..40),
    ) {
        let key = Arc::new(KeyConfig::for_tests("k", None, Some(limit)));
        let payer = Payer::new(key, &HashMap::new());
        let ledger = BudgetLedger::default();
        let now = 1_800_000_000_000;
        let mut open = Vec::new();
        for (amount, extra, settle_one, used) in steps {
            if let Ok(mut r) = ledger.reserve(&payer, amount, now) {
                ledger.extend(&payer, &mut r, extra, now);
                open.push(r);
            }
            if settle_one {
                if let Some(r) = open.pop() {
                    let actual = (r.amount() as f64 * used) as u64;
                    ledger.settle(&payer, r, actual);
                }
            }
            prop_assert!(ledger.spend("k", false, now).daily <= limit);
        }
        for r in open {
            let amount = r.amount();
            ledger.settle(&payer, r, amount);
        }
        prop_assert!(ledger.spend("k", false, now).daily <= limit);
    }
}
