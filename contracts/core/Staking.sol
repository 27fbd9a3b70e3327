// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "./IERC20.sol";
import {SafeTransfer} from "./SafeTransfer.sol";
import {Roles} from "./Roles.sol";

/// @title Staking: bond, unbond after a delay, minimum stake per role, stake-weighted verifier draws.
/// @notice Only the job market (fixed at deployment) can lock, unlock and slash, and it slashes only
/// for a lost dispute, a missed deadline or a drawn verifier's no-show. There is no owner.
/// A pool member's draw weight is its free stake (bonded minus locked) while that is at least the
/// verifier minimum: a drawn verifier can always lock its bond, and stake already at risk in other
/// jobs does not buy more draws.
contract Staking {
    using SafeTransfer for IERC20;

    struct Account {
        // One slot holds what the market's lock, unlock and slash read (uint120: 1.3e18 tokens of 18 decimals).
        uint120 bonded; // includes locked
        uint120 locked; // collateral of active jobs and drawn verifiers' bonds: cannot be unbonded
        bool inVerifierPool;
        uint128 unbonding; // left the bond, waiting for the delay; no longer slashable
        uint64 unbondAt;
    }

    IERC20 public immutable token;
    address public immutable market;
    uint64 public immutable unbondingDelay;
    uint128 public immutable minSolverStake;
    uint128 public immutable minVerifierStake;

    mapping(address => Account) private _accounts;

    // Verifier pool: a Fenwick tree over member weights (weight = free stake while >= minVerifierStake),
    // so a stake-weighted draw and a weight update both cost O(log members).
    address[] private _members; // index i (1-based) ↔ _members[i - 1]
    mapping(address => uint256) private _memberIndex;
    mapping(uint256 => uint256) private _tree;
    mapping(address => uint256) public verifierWeight;
    uint256 public totalVerifierWeight;

    error ZeroAmount();
    error NotMarket();
    error InsufficientFreeStake(address operator, uint256 free, uint256 needed);
    error StakeBelowMinimum(address operator, uint8 role, uint256 bonded, uint256 minimum);
    error NothingUnbonding();
    error UnbondingNotDue(uint64 unbondAt);
    error AlreadyInVerifierPool();
    error NotInVerifierPool();
    error LockUnderflow(address operator, uint256 locked, uint256 amount);
    error StakeTooLarge(address operator, uint256 bonded);

    event Bonded(address indexed operator, uint256 amount, uint256 bonded);
    event UnbondRequested(address indexed operator, uint256 amount, uint256 unbonding, uint64 unbondAt);
    event Unbonded(address indexed operator, uint256 amount);
    event Locked(address indexed operator, uint256 amount, uint256 locked);
    event Unlocked(address indexed operator, uint256 amount, uint256 locked);
    event Slashed(address indexed operator, uint256 amount, address indexed to);
    event VerifierPoolJoined(address indexed operator, uint256 weight);
    event VerifierPoolLeft(address indexed operator);
    event VerifierWeightChanged(address indexed operator, uint256 weight, uint256 totalWeight);

    constructor(IERC20 token_, address market_, uint64 unbondingDelay_, uint128 minSolverStake_, uint128 minVerifierStake_) {
        token = token_;
        market = market_;
        unbondingDelay = unbondingDelay_;
        minSolverStake = minSolverStake_;
        minVerifierStake = minVerifierStake_;
    }

    modifier onlyMarket() {
        if (msg.sender != market) revert NotMarket();
        _;
    }

    // ---- operators -------------------------------------------------------------------------

    /// Add `amount` tokens to the caller's bond (needs an approval of this contract).
    function bond(uint128 amount) external {
        if (amount == 0) revert ZeroAmount();
        Account storage a = _accounts[msg.sender];
        uint256 bonded = uint256(a.bonded) + amount;
        if (bonded > type(uint120).max) revert StakeTooLarge(msg.sender, bonded);
        a.bonded = uint120(bonded);
        _syncWeight(msg.sender, a);
        emit Bonded(msg.sender, amount, a.bonded);
        token.pull(msg.sender, amount);
    }

    /// Start unbonding `amount` of free (unlocked) stake; it can be withdrawn after the delay.
    /// A second request adds to the first and restarts the delay.
    function requestUnbond(uint128 amount) external {
        if (amount == 0) revert ZeroAmount();
        Account storage a = _accounts[msg.sender];
        uint120 free = a.bonded - a.locked;
        if (amount > free) revert InsufficientFreeStake(msg.sender, free, amount);
        a.bonded -= uint120(amount);
        a.unbonding += amount;
        a.unbondAt = uint64(block.timestamp) + unbondingDelay;
        _syncWeight(msg.sender, a);
        emit UnbondRequested(msg.sender, amount, a.unbonding, a.unbondAt);
    }

    /// Withdraw everything whose unbonding delay has passed.
    function withdrawUnbonded() external {
        Account storage a = _accounts[msg.sender];
        uint128 amount = a.unbonding;
        if (amount == 0) revert NothingUnbonding();
        if (block.timestamp < a.unbondAt) revert UnbondingNotDue(a.unbondAt);
        a.unbonding = 0;
        emit Unbonded(msg.sender, amount);
        token.pay(msg.sender, amount);
    }

    /// Enter the verifier pool: draws are weighted by free stake.
    function joinVerifierPool() external {
        Account storage a = _accounts[msg.sender];
        if (a.inVerifierPool) revert AlreadyInVerifierPool();
        if (a.bonded < minVerifierStake) revert StakeBelowMinimum(msg.sender, Roles.VERIFIER, a.bonded, minVerifierStake);
        a.inVerifierPool = true;
        _syncWeight(msg.sender, a);
        emit VerifierPoolJoined(msg.sender, verifierWeight[msg.sender]);
    }

    function leaveVerifierPool() external {
        Account storage a = _accounts[msg.sender];
        if (!a.inVerifierPool) revert NotInVerifierPool();
        a.inVerifierPool = false;
        _syncWeight(msg.sender, a);
        emit VerifierPoolLeft(msg.sender);
    }

    // ---- the job market ---------------------------------------------------------------------

    /// Lock `amount` of the operator's free stake as a job's collateral; the operator must hold the
    /// role's minimum stake.
    function lock(address operator, uint128 amount, uint8 role) external onlyMarket {
        Account storage a = _accounts[operator];
        uint128 minimum = minStake(role);
        if (a.bonded < minimum) revert StakeBelowMinimum(operator, role, a.bonded, minimum);
        uint120 free = a.bonded - a.locked;
        if (amount > free) revert InsufficientFreeStake(operator, free, amount);
        a.locked += uint120(amount);
        if (a.inVerifierPool) _syncWeight(operator, a);
        emit Locked(operator, amount, a.locked);
    }

    function unlock(address operator, uint128 amount) external onlyMarket {
        Account storage a = _accounts[operator];
        if (amount > a.locked) revert LockUnderflow(operator, a.locked, amount);
        a.locked -= uint120(amount);
        if (a.inVerifierPool) _syncWeight(operator, a);
        emit Unlocked(operator, amount, a.locked);
    }

    /// Take `amount` of locked collateral and send it to `to` (the market, which credits the winners).
    function slash(address operator, uint128 amount, address to) external onlyMarket {
        Account storage a = _accounts[operator];
        if (amount > a.locked) revert LockUnderflow(operator, a.locked, amount);
        a.locked -= uint120(amount);
        a.bonded -= uint120(amount);
        if (a.inVerifierPool) _syncWeight(operator, a); // out of the pool the weight is 0 already
        emit Slashed(operator, amount, to);
        token.pay(to, amount);
    }

    // ---- views ------------------------------------------------------------------------------

    function accountOf(address operator) external view returns (Account memory) {
        return _accounts[operator];
    }

    function freeStake(address operator) external view returns (uint256) {
        Account storage a = _accounts[operator];
        return a.bonded - a.locked;
    }

    function minStake(uint8 role) public view returns (uint128) {
        if (role == Roles.SOLVER) return minSolverStake;
        if (role == Roles.VERIFIER) return minVerifierStake;
        return 0;
    }

    function verifierPoolSize() external view returns (uint256) {
        return _members.length;
    }

    /// A member's range in the cumulative weights: [start, start + weight). Draws that must skip some
    /// members (the solver, those already drawn) shift a random point past their ranges.
    function rangeOf(address operator) public view returns (uint256 start, uint256 weight) {
        uint256 idx = _memberIndex[operator];
        if (idx == 0) return (0, 0);
        return (_prefix(idx - 1), verifierWeight[operator]);
    }

    /// The pool member whose cumulative weight range contains r (0 <= r < totalVerifierWeight).
    function verifierAt(uint256 r) public view returns (address) {
        uint256 size = _members.length;
        uint256 pos;
        uint256 step = 1;
        while (step * 2 <= size) step *= 2;
        for (; step > 0; step >>= 1) {
            uint256 next = pos + step;
            if (next <= size && _tree[next] <= r) {
                pos = next;
                r -= _tree[next];
            }
        }
        return _members[pos]; // index pos + 1, stored at pos
    }

    /// Up to k distinct pool members drawn by weight without replacement from `seed`, never one of
    /// `exclude` (the market passes the solver and everyone drawn for the job before): pick i draws a
    /// point r = keccak256(abi.encode(seed, i)) mod the weight still eligible and shifts it past the
    /// ranges excluded so far, so it needs no retries.
    function drawVerifiers(bytes32 seed, uint256 k, address[] memory exclude) external view returns (address[] memory picked) {
        picked = new address[](k);
        uint256 cap = exclude.length + k;
        uint256[] memory starts = new uint256[](cap); // excluded ranges, sorted by start
        uint256[] memory weights = new uint256[](cap);
        uint256 excluded;
        uint256 remaining = totalVerifierWeight;
        for (uint256 e; e < exclude.length; e++) {
            (uint256 st, uint256 w) = rangeOf(exclude[e]);
            if (w == 0) continue;
            remaining -= w;
            excluded = _insertRange(starts, weights, excluded, st, w);
        }
        uint256 count;
        for (; count < k && remaining != 0; count++) {
            uint256 r = uint256(keccak256(abi.encode(seed, count))) % remaining;
            for (uint256 i; i < excluded; i++) {
                if (r >= starts[i]) r += weights[i];
            }
            address a = verifierAt(r);
            picked[count] = a;
            (uint256 st, uint256 w) = rangeOf(a);
            remaining -= w;
            excluded = _insertRange(starts, weights, excluded, st, w);
        }
        assembly {
            mstore(picked, count) // shrink to the members actually drawn
        }
    }

    function _insertRange(uint256[] memory starts, uint256[] memory weights, uint256 count, uint256 st, uint256 w)
        private
        pure
        returns (uint256)
    {
        uint256 at = count;
        while (at > 0 && starts[at - 1] > st) {
            (starts[at], weights[at]) = (starts[at - 1], weights[at - 1]);
            at--;
        }
        (starts[at], weights[at]) = (st, w);
        return count + 1;
    }

    // ---- internals --------------------------------------------------------------------------

    function _syncWeight(address operator, Account storage a) private {
        uint256 free = a.bonded - a.locked;
        uint256 w = a.inVerifierPool && free >= minVerifierStake ? free : 0;
        uint256 old = verifierWeight[operator];
        if (w == old) return;
        uint256 idx = _memberIndex[operator];
        if (idx == 0) {
            _members.push(operator);
            idx = _members.length;
            _memberIndex[operator] = idx;
            // A new Fenwick node covers (idx - lowbit(idx), idx]: the members before it in that range.
            _tree[idx] = _prefix(idx - 1) - _prefix(idx - (idx & (~idx + 1)));
        }
        uint256 size = _members.length;
        if (w > old) {
            uint256 d = w - old;
            for (uint256 i = idx; i <= size; i += i & (~i + 1)) _tree[i] += d;
            totalVerifierWeight += d;
        } else {
            uint256 d = old - w;
            for (uint256 i = idx; i <= size; i += i & (~i + 1)) _tree[i] -= d;
            totalVerifierWeight -= d;
        }
        verifierWeight[operator] = w;
        emit VerifierWeightChanged(operator, w, totalVerifierWeight);
    }

    function _prefix(uint256 i) private view returns (uint256 sum) {
        for (; i > 0; i -= i & (~i + 1)) sum += _tree[i];
    }
}
