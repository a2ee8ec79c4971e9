Attribute VB_Name = "CsDesk"
' cs-desk ribbon callbacks for the classic xlwings add-in (Windows and macOS).
'
' Import this module into the add-in's VBA project (next to xlwings' own "xlwings" module, which
' provides RunPython and ImportPythonUDFsToAddin) and use ../ribbon/customUI14.xml as its ribbon.
' See docs/excel.md, "Building the full add-in on Windows".
'
' The Python side is cs-desk's excel_addin package: pip install "cs-desk[excel]".
Option Explicit

' The "Refresh cs-desk" button: reads this workbook's data sheets and writes the
' CS KPIs, CS Accounts, CS Actions and CS Problems sheets.
Sub CsDeskRefresh(control As IRibbonControl)
    RunPython "import excel_addin.macros as m; m.refresh()"
End Sub

' The "Import functions" button (Windows only): registers =CS_NPS(), =CS_NRR(), =CS_KPI() ...
' from the module named in the add-in's config (UDF Modules = excel_addin.functions).
' Needs "Trust access to the VBA project object model"; save the add-in afterwards.
Sub CsDeskImportFunctions(control As IRibbonControl)
    #If Mac Then
        MsgBox "Worksheet functions of the classic add-in work on Windows only. On macOS use xlwings Lite.", vbInformation, "cs-desk"
    #Else
        ImportPythonUDFsToAddin
    #End If
End Sub

' The "Help" button.
Sub CsDeskHelp(control As IRibbonControl)
    MsgBox "Refresh cs-desk reads the data sheets of this workbook (accounts, MRR or subscriptions, usage, " & _
           "tickets, surveys, renewals) and writes the CS KPIs, CS Accounts, CS Actions and CS Problems sheets. " & _
           "Your data sheets are never changed. Settings and a saved column mapping go on a sheet named " & _
           """cs-desk settings"". Worksheet functions: =CS_NPS(range), =CS_NRR(table), =CS_KPI(""arpa"", table), " & _
           "=CS_KPI_LIST().", vbInformation, "cs-desk"
End Sub
