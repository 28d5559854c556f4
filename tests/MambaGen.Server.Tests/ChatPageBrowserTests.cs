using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using OpenAI.Chat;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace MambaGen.Server.Tests;

/// <summary>
/// A fact that needs Chromium and its driver (Debian: <c>apt-get install -y chromium chromium-driver</c>; .ci/run
/// installs them). Without them the test fails and says so; setting <see cref="OptOutVariable"/> to 1 skips it instead.
/// </summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    public const string OptOutVariable = "MAMBAGEN_SKIP_BROWSER_TESTS";

    public BrowserFactAttribute()
    {
        if (Environment.GetEnvironmentVariable(OptOutVariable) == "1")
        {
            Skip = $"{OptOutVariable}=1: the headless-browser test of the chat page is opted out.";
        }
    }
}

/// <summary>The chat page at / in a real headless Chromium, streaming replies from the live server.</summary>
public sealed class ChatPageBrowserTests : IClassFixture<ChatServerFixture>
{
    private static readonly string[] BrowserNames = { "chromium", "chromium-browser", "google-chrome" };

    private readonly LiveServer _server;

    public ChatPageBrowserTests(ChatServerFixture fixture)
    {
        _server = fixture.Server;
    }

    private static string? OnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);

    private static ChromeDriver StartBrowser()
    {
        string? browser = BrowserNames.Select(OnPath).FirstOrDefault(p => p is not null);
        string? driver = OnPath("chromedriver");
        if (browser is null || driver is null)
        {
            Assert.Fail($"No headless browser for the chat page test: {(browser is null ? "no chromium on PATH" : "")}{(browser is null && driver is null ? ", " : "")}{(driver is null ? "no chromedriver on PATH" : "")}. " +
                $"Install Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver; .ci/run does), or set {BrowserFactAttribute.OptOutVariable}=1 to skip this test.");
        }

        var options = new ChromeOptions { BinaryLocation = browser };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu");
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(driver)!, Path.GetFileName(driver));
        service.HideCommandPromptWindow = true;
        service.SuppressInitialDiagnosticInformation = true;
        return new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
    }

    [BrowserFact]
    public async Task Chat_page_streams_two_turns_that_match_the_api()
    {
        using var browser = StartBrowser();
        var wait = new WebDriverWait(browser, TimeSpan.FromSeconds(30));
        browser.Navigate().GoToUrl(_server.Server.Address);
        wait.Until(b => b.FindElement(By.TagName("body")).GetAttribute("data-state") == "idle");
        Assert.Equal("model: " + _server.ModelName, browser.FindElement(By.Id("model")).Text);
        foreach (var (id, value) in new[] { ("temperature", "0"), ("max-tokens", "12") })
        {
            var field = browser.FindElement(By.Id(id));
            field.Clear();
            field.SendKeys(value);
        }

        string Turn(string message, int index)
        {
            browser.FindElement(By.Id("input")).SendKeys(message);
            browser.FindElement(By.Id("send")).Click();
            wait.Until(b => b.FindElements(By.CssSelector(".assistant .text")).Count > index && b.FindElement(By.TagName("body")).GetAttribute("data-state") == "idle");
            Assert.Empty(browser.FindElements(By.CssSelector(".error")));
            return browser.FindElements(By.CssSelector(".assistant .text"))[index].GetAttribute("textContent")!;
        }

        string first = Turn("Gets the number of", 0);
        string second = Turn("Returns a value", 1);

        var chat = _server.OpenAi().GetChatClient(_server.ModelName);
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 12 };
        var expectedFirst = (await chat.CompleteChatAsync(new ChatMessage[] { new UserChatMessage("Gets the number of") }, options)).Value.Content[0].Text;
        var expectedSecond = (await chat.CompleteChatAsync(new ChatMessage[]
        {
            new UserChatMessage("Gets the number of"), new AssistantChatMessage(expectedFirst), new UserChatMessage("Returns a value"),
        }, options)).Value.Content[0].Text;
        Assert.Equal(expectedFirst, first);
        Assert.Equal(expectedSecond, second);
        Assert.NotEmpty(first);
    }
}
