// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "./IERC20.sol";

/// @title VeriToken (VTT): the payment and stake token.
/// @notice A plain ERC-20 with no owner and no mint key. Supply comes from an initial allocation and,
/// on devnets and testnets, from a faucet that is fixed at deployment (faucetAmount 0 turns it off).
contract VeriToken is IERC20 {
    string public constant name = "Veritrain Token";
    string public constant symbol = "VTT";
    uint8 public constant decimals = 18;

    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    /// Tokens minted per faucet call; 0 means no faucet.
    uint256 public immutable faucetAmount;
    /// Seconds an address waits between two faucet calls.
    uint256 public immutable faucetCooldown;
    mapping(address => uint256) public lastFaucetAt;

    error ZeroAddress();
    error InsufficientBalance(address account, uint256 balance, uint256 needed);
    error InsufficientAllowance(address owner, address spender, uint256 allowance, uint256 needed);
    error FaucetDisabled();
    error FaucetCooldown(uint256 readyAt);

    constructor(uint256 faucetAmount_, uint256 faucetCooldown_, address initialHolder, uint256 initialSupply) {
        faucetAmount = faucetAmount_;
        faucetCooldown = faucetCooldown_;
        if (initialSupply != 0) {
            if (initialHolder == address(0)) revert ZeroAddress();
            _mint(initialHolder, initialSupply);
        }
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        _transfer(msg.sender, to, amount);
        return true;
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        if (spender == address(0)) revert ZeroAddress();
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        // An infinite approval is never decremented (saves a storage write per payment).
        if (allowed != type(uint256).max) {
            if (allowed < amount) revert InsufficientAllowance(from, msg.sender, allowed, amount);
            allowance[from][msg.sender] = allowed - amount;
        }
        _transfer(from, to, amount);
        return true;
    }

    /// Mint faucetAmount to the caller (devnets and testnets only).
    function faucet() external {
        if (faucetAmount == 0) revert FaucetDisabled();
        uint256 last = lastFaucetAt[msg.sender];
        if (last != 0 && block.timestamp < last + faucetCooldown) revert FaucetCooldown(last + faucetCooldown);
        lastFaucetAt[msg.sender] = block.timestamp;
        _mint(msg.sender, faucetAmount);
    }

    function _transfer(address from, address to, uint256 amount) private {
        if (to == address(0)) revert ZeroAddress();
        uint256 bal = balanceOf[from];
        if (bal < amount) revert InsufficientBalance(from, bal, amount);
        unchecked {
            balanceOf[from] = bal - amount; // bal >= amount checked above
        }
        balanceOf[to] += amount;
        emit Transfer(from, to, amount);
    }

    function _mint(address to, uint256 amount) private {
        totalSupply += amount;
        balanceOf[to] += amount;
        emit Transfer(address(0), to, amount);
    }
}
