// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title HookToken: a test ERC-20 that calls `onTokenTransfer` on recipients that registered for it
/// (as ERC-777 tokens call registered hooks), to show that a malicious receiver cannot re-enter the
/// job market.
contract HookToken {
    mapping(address => uint256) public balanceOf;
    mapping(address => bool) public wantsHook;
    mapping(address => mapping(address => uint256)) public allowance;
    uint256 public totalSupply;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    error Insufficient();

    function setHook(bool on) external {
        wantsHook[msg.sender] = on;
    }

    function mint(address to, uint256 amount) external {
        totalSupply += amount;
        balanceOf[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        _move(msg.sender, to, amount);
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        if (allowance[from][msg.sender] < amount) revert Insufficient();
        allowance[from][msg.sender] -= amount;
        _move(from, to, amount);
        return true;
    }

    function _move(address from, address to, uint256 amount) private {
        if (balanceOf[from] < amount) revert Insufficient();
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
        emit Transfer(from, to, amount);
        if (wantsHook[to]) ITokenReceiver(to).onTokenTransfer(from, amount);
    }
}

interface ITokenReceiver {
    function onTokenTransfer(address from, uint256 amount) external;
}
