"""EIP-1559 pricing: what new transactions and replacements pay, and gas limits."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.chain.sender import GWEI, FeePolicy, Fees, gas_limit, market_fees, replacement_fees

wei = st.integers(min_value=0, max_value=10_000 * GWEI)


def test_new_transaction_pays_twice_the_base_fee_plus_the_tip() -> None:
    fees = market_fees(base_fee=10 * GWEI, policy=FeePolicy(priority_fee=2 * GWEI))
    assert fees == Fees(max_fee_per_gas=22 * GWEI, max_priority_fee_per_gas=2 * GWEI)


def test_cap_bounds_the_max_fee_and_the_tip() -> None:
    policy = FeePolicy(priority_fee=5 * GWEI, max_fee_cap=3 * GWEI)
    assert market_fees(100 * GWEI, policy) == Fees(3 * GWEI, 3 * GWEI)


@given(max_fee=wei, tip=wei, base_fee=wei)
def test_replacement_bumps_both_fees_by_at_least_an_eighth(
    max_fee: int, tip: int, base_fee: int
) -> None:
    policy = FeePolicy()
    previous = Fees(max_fee, min(tip, max_fee))
    bumped = replacement_fees(previous, market_fees(base_fee, policy), policy)
    assert bumped is not None
    assert bumped.max_fee_per_gas >= previous.max_fee_per_gas * Fraction(9, 8)
    assert bumped.max_priority_fee_per_gas >= previous.max_priority_fee_per_gas * Fraction(9, 8)
    assert bumped.max_fee_per_gas > previous.max_fee_per_gas


def test_replacement_follows_the_market_when_it_rose_more_than_the_bump() -> None:
    policy = FeePolicy(priority_fee=1 * GWEI)
    previous = market_fees(1 * GWEI, policy)  # 3 gwei
    bumped = replacement_fees(previous, market_fees(50 * GWEI, policy), policy)
    assert bumped == Fees(101 * GWEI, 1_125_000_000)


def test_no_replacement_when_the_cap_forbids_a_sufficient_bump() -> None:
    policy = FeePolicy(max_fee_cap=10 * GWEI)
    assert replacement_fees(Fees(9 * GWEI, 1 * GWEI), Fees(1, 1), policy) is None


def test_gas_limit_adds_the_margin_and_rounds_up() -> None:
    assert gas_limit(21_000, FeePolicy()) == 25_200
    assert gas_limit(100_001, FeePolicy(gas_margin=Fraction(3, 2))) == 150_002


@pytest.mark.parametrize("bump", [Fraction(1), Fraction(11, 10)])
def test_policy_refuses_a_bump_mempools_would_reject(bump: Fraction) -> None:
    with pytest.raises(ValueError, match=r"12\.5%"):
        FeePolicy(replacement_bump=bump)
